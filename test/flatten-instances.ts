// flattenInstances: instances of unregistered plain-data classes (a
// parser's AST nodes) cross as plain objects, per pool and per call, in a
// task's arguments and in its result; what is not plain data is still
// refused, with its path.
import test from 'ava';
import * as acorn from 'acorn';
import {
  deferToThread, deferToThreadPool, fromModule, reactor, ThreadPool, ValueNotCloneableError,
} from 'reactor-threads';
import { identity, Point } from './_fixtures/tasks.cjs';
import {
  Account, askReactorForVec, identifiersOf, inspectArrival, makeMeasured, makeSegment, makeSegmentLater, Measured, postVec,
  Segment, Vec,
} from './_fixtures/instances.cjs';

type Loose = (...args: unknown[]) => unknown;
const parse = fromModule<(src: string, options: acorn.Options) => acorn.Program>('acorn', 'parse');
const source = 'const answer = add(40, 2);\nfunction add(a, b) { return a + b; }\nclass K { m() { return this.x?.y; } }';
const options: acorn.Options = { ecmaVersion: 'latest', locations: true };
/** acorn's AST of `source` as plain objects, as it should arrive. */
const plainAst = (): unknown => JSON.parse(JSON.stringify(acorn.parse(source, options)));
const flattening = deferToThread.with({ flattenInstances: true });

function pool(t: { teardown(f: () => Promise<void>): void }, flattenInstances: boolean): ThreadPool {
  const p = new ThreadPool({ maxThreads: 1, flattenInstances });
  t.teardown(() => p.stop());
  p.start();
  return p;
}

test('acorn parses in a thread with flattenInstances on the call, its AST arriving as plain objects', async (t) => {
  const ast = await flattening(parse, source, options);
  t.is(Object.getPrototypeOf(ast), Object.prototype);
  t.deepEqual(ast, plainAst());
});

test('without flattenInstances, acorn\'s AST is refused as the result', async (t) => {
  const err = await t.throwsAsync(deferToThread(parse, source, options), { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'the result');
});

test('an AST parsed here crosses as plain objects in the arguments with flattenInstances on the call', async (t) => {
  const ast = acorn.parse(source, options);
  t.deepEqual(await flattening(identifiersOf, ast), { names: ['answer', 'add', 'add', 'a', 'b', 'a', 'b', 'K', 'm', 'x', 'y'], allPlain: true });
  const err = await t.throwsAsync(deferToThread(identifiersOf, ast), { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'args[0]');
});

test('a pool with flattenInstances lets acorn\'s AST cross both ways', async (t) => {
  const p = pool(t, true);
  t.deepEqual(await deferToThreadPool(reactor, p, parse, source, options), plainAst());
  const local = acorn.parse(source, options);
  t.true((await deferToThreadPool(reactor, p, identifiersOf, local)).allPlain);
});

test('a pool with flattenInstances flattens the result of a call with primitive arguments', async (t) => {
  // (The submission path that writes primitives straight into the staged batch.)
  const seg = await deferToThreadPool(reactor, pool(t, true), makeSegment, 0, 0, 3, 4);
  t.deepEqual(seg.from, { x: 0, y: 0 });
  t.is(Object.getPrototypeOf(seg), Object.prototype);
});

test('flattenInstances: false on a call refuses what its pool would flatten, in the arguments and in the result', async (t) => {
  const p = pool(t, true);
  const strict = deferToThreadPool.with({ flattenInstances: false });
  const args = await t.throwsAsync(strict(reactor, p, identity as Loose, { at: new Vec(1, 2) }), { instanceOf: ValueNotCloneableError });
  t.is((args as ValueNotCloneableError).path, 'args[0].at');
  const primitives = await t.throwsAsync(strict(reactor, p, makeSegment, 0, 0, 3, 4), { instanceOf: ValueNotCloneableError });
  t.is((primitives as ValueNotCloneableError).path, 'the result');
  const parsed = await t.throwsAsync(strict(reactor, p, parse, source, options), { instanceOf: ValueNotCloneableError });
  t.is((parsed as ValueNotCloneableError).path, 'the result');
  t.deepEqual(await deferToThreadPool(reactor, p, makeSegment, 0, 0, 1, 1).then((s) => s.to), { x: 1, y: 1 },
    'the pool still flattens calls that do not say otherwise');
});

test('flattenInstances: true on a call flattens on a strict pool, whatever path its arguments take', async (t) => {
  const p = pool(t, false);
  const flat = deferToThreadPool.with({ flattenInstances: true });
  t.deepEqual((await flat(reactor, p, makeSegment, 0, 0, 3, 4)).to, { x: 3, y: 4 });
  t.deepEqual(await flat(reactor, p, identity as Loose, [new Vec(5, 6)]), [{ x: 5, y: 6 }]);
  await t.throwsAsync(deferToThreadPool(reactor, p, makeSegment, 0, 0, 3, 4), { instanceOf: ValueNotCloneableError });
});

test('an async task keeps its call\'s flattenInstances while its thread takes other calls before it settles', async (t) => {
  // (A thread writes each batch it takes over the one before: the setting
  // is read from the task's arguments as it starts, not as it settles.)
  const p = pool(t, false);
  const flat = deferToThreadPool.with({ flattenInstances: true });
  const later = flat(reactor, p, makeSegmentLater, 100, 3, 4);
  await new Promise((resolve) => setTimeout(resolve, 20));
  for (let i = 0; i < 20; i++) t.is(await deferToThreadPool(reactor, p, identity as Loose, i), i);
  const strict = deferToThreadPool(reactor, p, makeSegmentLater, 100, 5, 6);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await flat(reactor, p, identity as Loose, 'taken while the strict call waits');
  t.deepEqual((await later).to, { x: 3, y: 4 });
  const err = await t.throwsAsync(strict, { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'the result');
});

test('nested instances flatten too; a registered class crosses as itself and a function as a reactor callable', async (t) => {
  const back = await flattening(makeSegment, 1, 2, 4, 6);
  t.deepEqual({ ...back, label: undefined }, { from: { x: 1, y: 2 }, to: { x: 4, y: 6 }, label: undefined });
  t.true(back.label instanceof Point, 'a registered class inside a flattened instance');
  t.is(back.label!.length(), 5);
  const seen = await flattening(inspectArrival, new Segment(new Vec(0, 0), new Vec(1, 1)) as unknown as Record<string, unknown>);
  t.deepEqual(seen, { plain: true, keys: ['from', 'to', 'label'], nestedPlain: [true, true] });
  const calls: number[] = [];
  const withCallback = Object.assign(new Vec(7, 8), { report: (n: number) => { calls.push(n); } });
  await flattening((v: { x: number; report(n: number): void }) => v.report(v.x), withCallback);
  t.deepEqual(calls, [7]);
});

test('an instance with an own property of the markers\' key is refused, not flattened into a marker the thread would revive', async (t) => {
  class Carrier { __reactorThreads = { k: 'error', error: { name: 'Error', message: 'injected' } }; }
  const err = await t.throwsAsync(flattening(identity as Loose, new Carrier()), { instanceOf: ValueNotCloneableError });
  t.regex(err!.message, /reserved/);
});

test('a refusal inside a flattened instance names its exact path', async (t) => {
  const seg = new Segment(new Vec(0, 0), Object.assign(new Vec(1, 1), { where: new URL('https://example.test/') }));
  const err = await t.throwsAsync(flattening(identity as Loose, 1, { seg }), { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'args[1].seg.to.where');
});

test('a flattened instance carries its own data only: no prototype getters, no private fields', async (t) => {
  const account = new Account('ann', 5);
  t.is(account.balance, 5);
  t.deepEqual(await flattening(identity as Loose, account), { owner: 'ann' });
  t.deepEqual(await flattening(identity as Loose, new Vec(0, 0)), { x: 0, y: 0 });
  const named = Object.defineProperty(new Vec(0, 0), '__proto__', { value: 'p', enumerable: true, writable: true, configurable: true });
  const back = await flattening(identity as Loose, named) as object;
  t.deepEqual(Object.keys(back), ['x', 'y', '__proto__'], 'an own property named __proto__ stays a property');
  t.is(Object.getPrototypeOf(back), Object.prototype);
});

test('an instance met twice stays one object, and a cycle through it stays a cycle', async (t) => {
  const v = new Vec(1, 1);
  const [a, b] = await flattening(identity as Loose, [v, { again: v }]) as [object, { again: object }];
  t.is(a, b.again);
  const loop = Object.assign(new Vec(2, 2), { self: undefined as unknown });
  loop.self = { back: loop };
  const looped = await flattening(identity as Loose, loop) as { self: { back: unknown } };
  t.is(looped.self.back, looped);
});

test('an instance with an own accessor is refused even with flattenInstances, naming the property', async (t) => {
  const args = await t.throwsAsync(flattening(identity as Loose, { m: new Measured(1) }), { instanceOf: ValueNotCloneableError });
  t.is((args as ValueNotCloneableError).path, 'args[0].m');
  t.regex(args!.message, /own property 'length' is an accessor/);
  const result = await t.throwsAsync(flattening(makeMeasured, 2), { instanceOf: ValueNotCloneableError });
  t.is((result as ValueNotCloneableError).path, 'the result');
  t.regex(result!.message, /own property 'length' is an accessor/);
});

test('built-ins whose state is not in their properties are refused even with flattenInstances', async (t) => {
  const { EventEmitter } = await import('node:events');
  for (const value of [new URL('https://example.test/'), new WeakMap(), Promise.resolve(1), new AbortController(),
    new EventEmitter(), [1].values(), new (class Later { then(): void { /* a library's own thenable */ } })()]) {
    const err = await t.throwsAsync(flattening(identity as Loose, [value]), { instanceOf: ValueNotCloneableError });
    t.is((err as ValueNotCloneableError).path, 'args[0][0]');
  }
});

test('a pool thread\'s blocking calls follow its pool\'s flattenInstances, both ways', async (t) => {
  t.deepEqual(await deferToThreadPool(reactor, pool(t, true), askReactorForVec),
    { made: { x: 3, y: 4 }, givenPlain: true, madePlain: true });
  const strict = pool(t, false);
  const err = await t.throwsAsync(deferToThreadPool(reactor, strict, askReactorForVec), { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'args[0]');
  // (A call's own setting is its task's: the thread's calls to its owner keep the pool's.)
  await t.throwsAsync(deferToThreadPool.with({ flattenInstances: true })(reactor, strict, askReactorForVec),
    { instanceOf: ValueNotCloneableError });
});

test('a pool thread\'s callFromThread follows its pool\'s flattenInstances', async (t) => {
  const received: object[] = [];
  // (Its calls reach the owner before its task's result does.)
  await deferToThreadPool(reactor, pool(t, true), postVec, (v: object) => { received.push(v); });
  t.deepEqual(received, [{ x: 5, y: 6 }]);
  const err = await t.throwsAsync(deferToThreadPool(reactor, pool(t, false), postVec, () => {}), { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'args[0]', 'the Vec, refused in the thread as callFromThread\'s argument');
});

test('flattenInstances must be a boolean, on a pool and on a call', async (t) => {
  t.throws(() => new ThreadPool({ flattenInstances: 'yes' as unknown as boolean }),
    { instanceOf: TypeError, message: /flattenInstances must be a boolean/ });
  t.throws(() => deferToThread.with({ flattenInstances: 1 as unknown as boolean }),
    { instanceOf: TypeError, message: /options\.flattenInstances must be a boolean/ });
  t.throws(() => deferToThreadPool.with({ flattenInstances: null as unknown as boolean }),
    { instanceOf: TypeError, message: /options\.flattenInstances must be a boolean/ });
});

test('a pool of the user\'s own cannot honour flattenInstances: the call rejects', async (t) => {
  const own = { callInThreadWithCallback(onResult: (ok: boolean, v: unknown) => void): void { onResult(true, 'ran'); } };
  await t.throwsAsync(deferToThreadPool.with({ flattenInstances: true })(reactor, own, identity as Loose, 1),
    { instanceOf: TypeError, message: /^options\.flattenInstances: this pool cannot honour it / });
  t.is(await deferToThreadPool(reactor, own, identity as Loose, 1), 'ran');
});
