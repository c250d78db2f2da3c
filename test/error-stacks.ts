// Stacks across threads: the thread's frames, then a boundary line naming
// the call, then (when asked, or for blocking calls) the caller's frames.
import test from 'ava';
import { deferToThread, FunctionNotSendableError, ValueNotCloneableError } from 'reactor-threads';
import { fail, add } from './_fixtures/tasks.cjs';
import { sendsSymbolToReactor, stackOfFailedCall, throwWithStack } from './_fixtures/bridge-tasks.cjs';
import { deserialize } from 'node:v8';
import { dirname, join } from 'node:path';
import { decodeThrow, encodeUserFailure, serializeUserFailure, type EncodedThrow } from '../dist/errors/errors.js';
import { WALK_MAX_DEPTH } from '../dist/codec/values.js';
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

test('a stack the runner cannot read still crosses whole: a file URL that is no URL at its foot', async (t) => {
  // (The foot is cut only when it is the library's or Node's: a frame in a
  // file URL the URL parser refuses is the user's, and the failure stays the user's.)
  const stack = 'Error: x\n    at userFn (/srv/app/a.js:1:1)\n    at file:///srv/app/50%off.mjs:2:2';
  const err = await t.throwsAsync(deferToThread(throwWithStack, stack));
  t.is(err!.constructor, Error, String(err));
  t.true(err!.stack!.startsWith(`${stack}\n    --- throwWithStack() in reactor#`), err!.stack);
});

test('an AggregateError of a million errors crosses cut at 100,000, the last saying so', (t) => {
  // (Made without stacks, which would only make the test slow: the count is what a spread into push() could not take.)
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let many: AggregateError;
  try {
    many = new AggregateError(Array.from({ length: 1_000_000 }, (_, i) => new RangeError(String(i))), 'many');
  } finally {
    Error.stackTraceLimit = limit;
  }
  const errors = (encodeUserFailure(many) as { errors?: { message: string }[] }).errors!;
  t.is(errors.length, 100_000);
  t.is(errors[99_998]!.message, '99998');
  t.is(errors[99_999]!.message, 'the failure was cut after 100000 errors and values');
});

test('an AggregateError that makes new members on every read is encoded within the bound', (t) => {
  // (Two fresh members a level: 2 ** 1000 errors, were they all read.)
  class Endless extends AggregateError {
    override get errors(): unknown[] { return [new Endless([], 'l'), new Endless([], 'r')]; }
  }
  let count = 0;
  const pending: unknown[] = [encodeUserFailure(new Endless([], 'root'))];
  for (let d = pending.pop() as { t: string; errors?: unknown[] } | undefined; d; d = pending.pop() as typeof d) {
    count++;
    for (const x of d.errors ?? []) pending.push(x);
  }
  t.true(count <= 100_001 * 2, `${count} errors encoded`);
});

test('nested AggregateErrors wider than the budget encode 100,000 errors at most, whatever their depth', (t) => {
  // (Each level: the level below, then 60,000 errors of its own; past the budget, one cut error, shared.)
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let top: Error = new Error('leaf');
  try {
    for (let level = 0; level < 5; level++) {
      top = new AggregateError([top, ...Array.from({ length: 60_000 }, (_, i) => new RangeError(`${level}.${i}`))], `level ${level}`);
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
  let errors = 0;
  const pending: unknown[] = [encodeUserFailure(top)];
  for (let d = pending.pop() as { t: string; errors?: unknown[] } | undefined; d; d = pending.pop() as typeof d) {
    if (d.t === 'error') errors++;
    for (const x of d.errors ?? []) pending.push(x);
  }
  t.true(errors <= 100_001, `${errors} errors encoded`);
});

test('whatever is thrown is written: a revoked Proxy, a class whose name is no string, members in a Set', (t) => {
  const { proxy, revoke } = Proxy.revocable(new Error('revoked'), {});
  revoke();
  class Odd extends Error { static override readonly name = (() => 1) as unknown as string; }
  const inSet = new AggregateError([], 'set');
  Object.defineProperty(inSet, 'errors', { value: new Set([new TypeError('a member')]) });
  for (const thrown of [proxy, new Odd('odd'), inSet]) {
    const back = decodeThrow(deserialize(serializeUserFailure(thrown, 'f() in a test')) as EncodedThrow);
    t.truthy(back);
  }
  const set = decodeThrow(deserialize(serializeUserFailure(inSet)) as EncodedThrow) as AggregateError;
  t.is((set.errors[0] as Error).message, 'a member');
});

test('members that are no errors spend the budget too, and a value many errors hold is checked once', (t) => {
  // (Ten AggregateErrors each holding the same 90,000 numbers made 900,000 entries; a thousand errors
  // each holding one 100,000-element array wrote it a thousand times over to check it.)
  const numbers = Array.from({ length: 90_000 }, (_, i) => i);
  let top: Error = new Error('leaf');
  for (let level = 0; level < 10; level++) top = new AggregateError([top, ...numbers], `level ${level}`);
  let entries = 0;
  const pending: unknown[] = [encodeUserFailure(top)];
  for (let d = pending.pop() as { t: string; errors?: unknown[] } | undefined; d; d = pending.pop() as typeof d) {
    entries++;
    for (const x of d.errors ?? []) pending.push(x);
  }
  // (The budget, and the one cut each list then ends with.)
  t.true(entries <= 100_000 + 11, `${entries} entries encoded`);
  const big = Array.from({ length: 100_000 }, (_, i) => i);
  const holders = Array.from({ length: 1_000 }, (_, i) => Object.assign(new Error(`holder ${i}`), { big }));
  const started = Date.now();
  const back = decodeThrow(deserialize(serializeUserFailure(new AggregateError(holders, 'many holders'))) as EncodedThrow) as AggregateError;
  t.is(((back.errors[999] as { big: number[] }).big).length, 100_000);
  t.true(Date.now() - started < 60_000, `${Date.now() - started} ms`);
});

test('an own property named __proto__ crosses as a property, and the error keeps its class', (t) => {
  const e = new TypeError('with a __proto__');
  Object.defineProperty(e, '__proto__', { value: { planted: true }, enumerable: true, writable: true, configurable: true });
  const back = decodeThrow(deserialize(serializeUserFailure(e)) as EncodedThrow) as Error;
  t.true(back instanceof TypeError);
  t.deepEqual(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, { planted: true });
});

test('a failure that cannot be written whole is written as the error alone', (t) => {
  let refusals = 0;
  const e = new TypeError('outer', { cause: new Error('inner') });
  const bytes = serializeUserFailure(e, 'f() in a test', () => { if (refusals++ === 0) throw new RangeError('Maximum call stack size exceeded'); });
  const back = decodeThrow(deserialize(bytes) as EncodedThrow) as Error;
  t.is(refusals, 2);
  t.true(back instanceof TypeError, String(back));
  t.is(back.message, 'outer');
  t.is(back.cause, undefined, 'what it held is left out');
  t.regex(back.stack!, /--- f\(\) in a test ---$/);
});

test('a failure with no frame of the user\'s keeps its frames, even when its message has lines that read as frames', (t) => {
  // (execFile's failure: the child's stack in its message, Node's frames below it.)
  const e = new Error('Command failed: node -e boom\nError: child boom\n    at [eval]:1:7\n    at /srv/app/child.js:3:3');
  const frames = '\n    at genericNodeError (node:internal/errors:984:15)\n    at ChildProcess.exithandler (node:child_process:422:12)';
  e.stack = `Error: ${e.message}${frames}`;
  const encoded = encodeUserFailure(e) as { stack?: string };
  t.is(encoded.stack, e.stack);
});

test('only a foot of a runner\'s length is cut: a longer run of Node\'s frames below the user\'s stays whole', (t) => {
  // (The trim reads the foot alone, so that a stack of a million lines costs what a short one does.)
  const nodeFrames = (n: number): string => Array.from({ length: n }, (_, i) => `\n    at step${i} (node:internal/streams/x:${i}:1)`).join('');
  const user = 'Error: x\n    at userFn (/srv/app/a.js:1:1)';
  const short = new Error('x');
  short.stack = user + nodeFrames(3);
  t.is((encodeUserFailure(short) as { stack?: string }).stack, user);
  const long = new Error('x');
  long.stack = user + nodeFrames(300);
  t.is((encodeUserFailure(long) as { stack?: string }).stack, long.stack);
  const deep = new Error('x');
  const userFrames = Array.from({ length: 200_000 }, (_, i) => `\n    at f${i} (/srv/app/a.js:${i}:1)`).join('');
  deep.stack = `Error: x${userFrames}${nodeFrames(2)}`;
  t.is((encodeUserFailure(deep) as { stack?: string }).stack, `Error: x${userFrames}`);
});

test('the trim reads lines as the stack\'s header and frames are: a header line, a line ending in \\r, are never frames', (t) => {
  // (A stack whose only "user's frame" is one of these has no frame of the user's: it stays whole.)
  const libraryFrame = `    at run (${join(dirname(require.resolve('reactor-threads')), 'reactor-threads.js')}:9:9)`;
  const trimmed = (message: string, stack: string): string | undefined => {
    const e = new Error(message);
    e.stack = stack;
    return (encodeUserFailure(e) as { stack?: string }).stack;
  };
  const midLine = `Error: m   at f (/srv/app/a.js:1:2)\ntext\n${libraryFrame}`;
  t.is(trimmed('m   at f (/srv/app/a.js:1:2)', midLine), midLine);
  const endsInReturn = `Error: x\nchild said:\r    at f (/srv/app/a.js:1:2)\r\nmore\n${libraryFrame}`;
  t.is(trimmed('x', endsInReturn), endsInReturn);
  // (The header's last line is the one its message's newline began, however it reads.)
  const messageEndsInNewline = `Error: m\n    at f (/srv/app/a.js:1:2)\n${libraryFrame}`;
  t.is(trimmed('m\n', messageEndsInNewline), messageEndsInNewline);
  // And a real frame of the user's below such lines still ends the cut.
  t.is(trimmed('x', `Error: x\nchild said:\r\n    at f (/srv/app/a.js:1:2)\n${libraryFrame}`), 'Error: x\nchild said:\r\n    at f (/srv/app/a.js:1:2)');
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
  for (let i = 0; i < WALK_MAX_DEPTH + 6; i++) deep = [deep];
  const err = await t.throwsAsync(deferToThread((a: unknown[]) => a.length, deep as unknown[]),
    { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'args[0]');
});
