// Errors across threads (first cut): built-in classes, classes registered
// with threadable, unknown classes, non-Error throws, and clear typed
// errors for bad input, after which the pool keeps serving.
import test from 'ava';
// Casts for calls the types would rightly refuse: these tests send bad input on purpose.
type Loose = (...args: unknown[]) => unknown;
import { deferToThread, RemoteError, ValueNotCloneableError } from 'reactor-threads';
import { add, CustomError, failCustom, failUnregistered, returnFunction, throwValue } from './_fixtures/tasks.cjs';

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
