// Stacks across threads: the thread's frames, then a boundary line naming
// the call, then (when asked, or for blocking calls) the caller's frames.
import test from 'ava';
import { deferToThread, FunctionNotSendableError, ValueNotCloneableError } from 'reactor-threads';
import { fail, add } from './_fixtures/tasks.cjs';
import { stackOfFailedCall } from './_fixtures/bridge-tasks.cjs';
import { unreachable } from './_fixtures/breaks-in-threads.cjs';

test('a failure\'s stack has the thread\'s frames, then a boundary naming the function and thread', async (t) => {
  const err = await t.throwsAsync(deferToThread(fail, 'x'));
  const stack = err!.stack!;
  t.regex(stack, /at fail \(/);
  t.regex(stack, /--- fail\(\) in reactor#\d+ ---$/m);
  t.true(stack.indexOf('at fail (') < stack.indexOf('--- fail()'));
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
