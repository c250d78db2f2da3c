// Stacks across threads: the thread's frames, then a boundary line naming
// the call, then (when asked, or for blocking calls) the caller's frames.
import test from 'ava';
import { deferToThread, FunctionNotSendableError, ValueNotCloneableError } from 'reactor-threads';
import { fail, add } from './_fixtures/tasks.cjs';
import { sendsSymbolToReactor, stackOfFailedCall } from './_fixtures/bridge-tasks.cjs';
import { unreachable } from './_fixtures/breaks-in-threads.cjs';

test('a failure\'s stack has the thread\'s frames, then a boundary naming the function and thread', async (t) => {
  const err = await t.throwsAsync(deferToThread(fail, 'x'));
  const stack = err!.stack!;
  t.regex(stack, /at fail \(/);
  t.regex(stack, /--- fail\(\) in reactor#\d+ ---$/m);
  t.true(stack.indexOf('at fail (') < stack.indexOf('--- fail()'));
});

/** The lines of `stack` that are frames (`    at …`). */
const frameLines = (stack: string): string[] => stack.split('\n').filter((l) => /^\s+at /.test(l));
/** Frames of the library's own code (the bundle, or src/ under source maps) or of Node's. */
const notUsers = (line: string): boolean => /[/\\](dist|src)[/\\][^:]*:\d+:\d+\)?$|node:internal|<anonymous>/.test(line)
  && !/dist-test/.test(line);

test('a failure\'s thread frames end at the user\'s function: the runner that called it is not shown', async (t) => {
  const err = await t.throwsAsync(deferToThread(fail, 'x'));
  const lines = err!.stack!.split('\n');
  const at = lines.findIndex((l) => l.includes('at fail ('));
  t.true(at > 0, err!.stack);
  t.regex(lines[at + 1]!, /^ {4}--- fail\(\) in reactor#\d+ ---$/, err!.stack);
  t.deepEqual(frameLines(err!.stack!).filter(notUsers), [], err!.stack);
});

test('a failure the library raised inside the user\'s function keeps the library\'s frames above the user\'s', async (t) => {
  const err = await t.throwsAsync(deferToThread(sendsSymbolToReactor), { instanceOf: ValueNotCloneableError });
  const frames = frameLines(err!.stack!);
  const users = frames.findIndex((l) => l.includes('at sendsSymbolToReactor ('));
  t.true(users > 0, err!.stack);
  t.true(frames.slice(0, users).every(notUsers), 'the library\'s frames, where it threw');
  t.is(users, frames.length - 1, 'nothing of the runner below the user\'s function');
});

test('with callerStack, the caller\'s async frames follow the boundary', async (t) => {
  async function theCaller(): Promise<number> {
    return await deferToThread.with({ callerStack: true })(fail, 'y');
  }
  const err = await t.throwsAsync(theCaller());
  const stack = err!.stack!;
  t.regex(stack, /--- fail\(\) in reactor#\d+ ---\n {4}--- called from ---\n[\s\S]*at async theCaller/);
});

test('a failed blocking call shows the reactor\'s frames, a boundary, then the thread\'s', async (t) => {
  const stack = await deferToThread(stackOfFailedCall);
  t.regex(stack, /^SyntaxError: reactor side/);
  t.regex(stack, /at failsOnReactor[\s\S]*--- blockingCallFromThread ---[\s\S]*at stackOfFailedCall/);
  // Each side's frames are the user's alone: the reactor's end at the
  // function it ran, and the thread's start at the code that called
  // blockingCallFromThread, not inside the library.
  t.regex(stack, /at failsOnReactor \([^\n]*\n {4}--- blockingCallFromThread ---\n {4}at stackOfFailedCall \(/);
});

test('a threadable whose module cannot load in the thread rejects with the import error as its cause', async (t) => {
  const err = await t.throwsAsync(deferToThread(unreachable), { instanceOf: FunctionNotSendableError });
  t.regex(err!.message, /cannot import/);
  t.regex(String((err!.cause as Error).message), /cannot load in a pool thread/);
  t.is(await deferToThread(add, 1, 1), 2, 'the pool keeps serving');
});

test('a function nested where it cannot become a reactor callable is refused with its argument', async (t) => {
  // Deeper than the value walk goes (a function in a Map is reached now,
  // and becomes a callable).
  let deep: unknown = () => 1;
  for (let i = 0; i < 70; i++) deep = [deep];
  const err = await t.throwsAsync(deferToThread((a: unknown[]) => a.length, deep as unknown[]),
    { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'args[0]');
});
