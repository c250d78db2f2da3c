// Errors across threads (first cut): built-in classes, classes registered
// with threadable, unknown classes, non-Error throws, and clear typed
// errors for bad input, after which the pool keeps serving.
import test from 'ava';
import { resolve } from 'node:path';
// Casts for calls the types would rightly refuse: these tests send bad input on purpose.
type Loose = (...args: unknown[]) => unknown;
import { deferToThread, RemoteError, ValueNotCloneableError, type ReactorThreadsError } from 'reactor-threads';
import { add, CustomError, fail, failCustom, failUnregistered, readMissingFile, returnFunction, throwValue } from './_fixtures/tasks.cjs';
import { depthOfFailedCall } from './_fixtures/bridge-tasks.cjs';
import { fixture, runChild } from './_helpers/child.js';

test('a built-in error class survives the trip', async (t) => {
  const err = await t.throwsAsync(deferToThread(() => (null as unknown as { x: number }).x), { instanceOf: TypeError });
  t.regex(err!.stack!, /TypeError/);
});

test('a class registered with threadable survives the trip with its properties', async (t) => {
  const err = await t.throwsAsync(deferToThread(failCustom, 7), { instanceOf: CustomError });
  t.is(err!.name, 'CustomError');
  t.is(err!.message, 'custom failure');
  t.is((err as CustomError).detail, 7);
  t.regex(err!.stack!, /failCustom/);
});

test('an unknown class arrives as a RemoteError that keeps the original name', async (t) => {
  const err = await t.throwsAsync(deferToThread(failUnregistered), { instanceOf: RemoteError });
  t.is(err!.name, 'UnregisteredError');
  t.is((err as RemoteError).remoteClass, 'UnregisteredError');
  t.is(err!.message, 'nobody registered me');
});

test('the cause chain crosses too', async (t) => {
  const err = await t.throwsAsync(deferToThread(() => { throw new Error('outer', { cause: new RangeError('inner') }); }));
  t.true(err!.cause instanceof RangeError);
  t.is((err!.cause as Error).message, 'inner');
});

test('an error\'s own enumerable name and cause stay enumerable, and those the constructor made stay not', async (t) => {
  const assigned = await t.throwsAsync(deferToThread(() => { throw Object.assign(new Error('m'), { name: 'Named', cause: 'why' }); }));
  t.is(assigned!.name, 'Named');
  t.deepEqual(Object.keys(assigned!), ['name', 'cause']);
  t.deepEqual(JSON.parse(JSON.stringify(assigned)), { name: 'Named', cause: 'why' });
  const made = await t.throwsAsync(deferToThread(() => { throw new Error('m', { cause: 'why' }); }));
  t.is(made!.cause, 'why');
  t.deepEqual(Object.keys(made!), []);
});

// A wrapper's `original` (an ORM's `parent`): V8's serializer wrote it as
// a bare Error, its class kept but its own properties lost (a database
// error's code), and a link back to the error holding it was lost.
test('an error held in an error\'s own property crosses as an error: its class, own properties and links kept', async (t) => {
  const err = await t.throwsAsync(deferToThread(() => {
    const original = Object.assign(new RangeError('db failed'), { code: '23505', detail: 'duplicate key' });
    const e: Error & { self?: unknown } = Object.assign(new Error('wrapper'), { original, parent: original, status: 409 });
    e.self = e;
    throw e;
  })) as Error & { original: RangeError & { code: string; detail: string }; parent: unknown; self: unknown; status: number };
  t.true(err.original instanceof RangeError);
  t.is(err.original.message, 'db failed');
  t.is(err.original.code, '23505');
  t.is(err.original.detail, 'duplicate key');
  t.is(err.parent, err.original, 'one error held twice arrives as one');
  t.is(err.self, err, 'a link back to the error itself is kept');
  t.is(err.status, 409);
});

// (helper-162: past ~980 such levels the main thread's stack ran out
// before the cut, and the call rejected with a ValueNotCloneableError.)
test('an error held in properties 1,100 deep arrives on the main thread, cut where its depth passes the limit', async (t) => {
  const r = await runChild(fixture('deep-error-props.mjs'));
  t.is(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { name: string; message: string; depth: number; last: string };
  t.like(got, { name: 'Error', message: 'level 1099', last: 'ERR_CAUSES_TRUNCATED' });
  t.true(got.depth > 100, `${got.depth} levels arrived`);
});

test('an AggregateError keeps its errors', async (t) => {
  const err = await t.throwsAsync(deferToThread(() => { throw new AggregateError([new TypeError('a'), 'b'], 'many'); }),
    { instanceOf: AggregateError });
  t.true((err as AggregateError).errors[0] instanceof TypeError);
  t.is((err as AggregateError).errors[1], 'b');
});

test('non-Error throws round-trip as values', async (t) => {
  for (const v of ['x', 42, null, undefined, { a: 1 }]) {
    const got = await deferToThread(throwValue, v).then(() => 'resolved', (e: unknown) => e);
    t.deepEqual(got, v);
  }
});

test('an argument that cannot be cloned is rejected naming its index', async (t) => {
  const err = await t.throwsAsync(deferToThread(add as Loose, 1, Symbol('s')), { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'args[1]');
  t.is((err as ValueNotCloneableError).code, 'ERR_VALUE_NOT_CLONEABLE');
});

test('a result that cannot be cloned is rejected naming the result', async (t) => {
  const err = await t.throwsAsync(deferToThread(returnFunction), { instanceOf: ValueNotCloneableError });
  t.regex(err!.message, /result/);
});

test('the pool keeps serving after bad input', async (t) => {
  await t.throwsAsync(deferToThread(add as Loose, new WeakMap(), 2));
  await t.throwsAsync(deferToThread(returnFunction));
  t.is(await deferToThread(add, 2, 2), 4);
});

test('a Node system error keeps code, errno, syscall and path', async (t) => {
  // (Resolved: on Windows, Node names it with its drive letter.)
  const missing = resolve('/nonexistent/file.txt');
  const err = await t.throwsAsync(deferToThread(readMissingFile, missing)) as NodeJS.ErrnoException;
  t.is(err.code, 'ENOENT');
  t.is(err.syscall, 'open');
  t.is(err.path, missing);
  t.is(typeof err.errno, 'number');
});

test('a DOMException crosses as a DOMException with its name', async (t) => {
  // (Node's DOMException is no native error, which t.throwsAsync requires.)
  const err = await deferToThread(() => { throw new DOMException('stopped', 'AbortError'); }).then(() => undefined, (e: unknown) => e as DOMException);
  t.true(err instanceof DOMException);
  t.is(err!.name, 'AbortError');
  t.is(err!.message, 'stopped');
});

test('a cause chain with a cycle arrives with the same cycle', async (t) => {
  const err = await t.throwsAsync(deferToThread(() => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    throw a;
  }));
  const b = err!.cause as Error;
  t.is(b.message, 'b');
  t.is(b.cause, err);
});

test('an error with 1,000 nested causes arrives whole', async (t) => {
  const err = await t.throwsAsync(deferToThread(() => {
    let e = new Error('cause 0');
    for (let i = 1; i <= 1000; i++) e = new Error(`cause ${i}`, { cause: e });
    throw e;
  }));
  let depth = 0;
  for (let e: unknown = err; e instanceof Error && e.cause; e = e.cause) depth++;
  t.is(depth, 1000);
});

/** How deep the chain below `err` goes (causes, or each AggregateError's first member), and its last error. */
function chainOf(err: unknown): { depth: number; last: Error } {
  let depth = 0;
  let last = err as Error;
  for (;;) {
    const next: unknown = last instanceof AggregateError ? last.errors[0] : last.cause;
    if (!(next instanceof Error)) return { depth, last };
    last = next;
    depth++;
  }
}

test('an error with 5,000 nested causes arrives cut after 1,000, the last one saying so', async (t) => {
  const err = await t.throwsAsync(deferToThread((n: number) => {
    let e = new Error('cause 0');
    for (let i = 1; i <= n; i++) e = new Error(`cause ${i}`, { cause: e });
    throw e;
  }, 5000));
  t.is(err!.message, 'cause 5000');
  const { depth, last } = chainOf(err);
  t.is(depth, 1001);
  t.is((last as ReactorThreadsError).code, 'ERR_CAUSES_TRUNCATED');
  t.is(await deferToThread(add, 1, 1), 2, 'the pool keeps serving');
});

test('AggregateErrors nested 5,000 deep arrive cut after 1,000 levels', async (t) => {
  const err = await t.throwsAsync(deferToThread((n: number) => {
    let e: Error = new Error('leaf');
    for (let i = 1; i <= n; i++) e = new AggregateError([e], `level ${i}`);
    throw e;
  }, 5000));
  t.true(err instanceof AggregateError);
  const { depth, last } = chainOf(err);
  t.is(depth, 1001);
  t.is((last as ReactorThreadsError).code, 'ERR_CAUSES_TRUNCATED');
});

test('a blocking call whose function throws 5,000 causes deep is answered, the chain cut after 1,000', async (t) => {
  // (The reactor's reply once overflowed the stack encoding it: the thread then waited for ever.)
  t.deepEqual(await deferToThread(depthOfFailedCall, 5000), { depth: 1001, last: 'the chain of causes was cut after 1000 levels', code: 'ERR_CAUSES_TRUNCATED' });
});

test.serial('a user\'s Error.prepareStackTrace that gives no string leaves a failure as it came', async (t) => {
  const before = Error.prepareStackTrace;
  Error.prepareStackTrace = (_e, sites) => sites;
  try {
    const err = await deferToThread.with({ callerStack: true })(fail, 'as it came').then(() => undefined, (e: unknown) => e);
    t.true(err instanceof TypeError, String(err));
    t.is((err as Error).message, 'as it came');
  } finally {
    Error.prepareStackTrace = before;
  }
});

test('an own errors property of an error that is no AggregateError crosses, as a validation error\'s does', async (t) => {
  const err = await t.throwsAsync(deferToThread(() => {
    throw Object.assign(new Error('invalid'), { errors: [{ path: 'email', message: 'required' }] });
  }));
  t.deepEqual((err as Error & { errors?: unknown }).errors, [{ path: 'email', message: 'required' }]);
});

test('properties that cannot be cloned are dropped and listed', async (t) => {
  const err = await t.throwsAsync(deferToThread(() => {
    throw Object.assign(new Error('with a handle'), { handle: () => 1, kept: 'yes' });
  })) as Error & { kept?: string; droppedProperties?: string[] };
  t.is(err.kept, 'yes');
  t.deepEqual(err.droppedProperties, ['handle']);
});

test('an error whose getters throw still arrives', async (t) => {
  const err = await t.throwsAsync(deferToThread(() => {
    const e = new TypeError('tricky');
    Object.defineProperty(e, 'detail', { enumerable: true, get() { throw new Error('getter'); } });
    throw e;
  })) as Error & { droppedProperties?: string[] };
  t.true(err instanceof TypeError);
  t.deepEqual(err.droppedProperties, ['detail']);
});
