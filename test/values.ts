// Values that structured clone would change in silence are refused with a
// path; registered classes and errors cross as themselves; what clones
// faithfully crosses as it is.
import test from 'ava';
import { deferToThread, deferToThreadPool, fromModule, reactor, ThreadPool, ValueNotCloneableError } from 'reactor-threads';
import { prepareOutbound, WALK_MAX_DEPTH } from '../dist/codec/values.js';
import { callGivenReferences, depthOf, nestedArraysOf, referenceFromThread, sendNestedToReactor } from './_fixtures/bridge-tasks.cjs';
import { privateMemberOf } from '../dist/codec/refusals.js';
import {
  add, describePoint, describePointsIn, identity, Locker, makeGuarded, makePoint, makePointCollections, Point, returnsSubclass, returnUrl, Tally, Vault,
} from './_fixtures/tasks.cjs';

type Loose = (...args: unknown[]) => unknown;

test('an instance of an unregistered class is refused, naming its path', async (t) => {
  const err = await t.throwsAsync(deferToThread(identity as Loose, 1, { user: { endpoint: new URL('https://example.test/') } }),
    { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'args[1].user.endpoint');
});

// Each refusal says what to do with that value: the advice fits it.
test('an un-awaited Promise or thenable is refused with the advice to await it', async (t) => {
  const pending = Promise.resolve(1);
  const err = await t.throwsAsync(deferToThread(identity as Loose, { count: pending }), { instanceOf: ValueNotCloneableError });
  t.is(err!.message, 'args[0].count cannot be sent to another thread: a Promise is a value still to come: '
    + 'await it and pass its value');
  class Query { then(resolve: (v: number) => void): void { resolve(1); } }
  const thenable = await t.throwsAsync(deferToThread(identity as Loose, new Query()), { instanceOf: ValueNotCloneableError });
  t.regex(thenable!.message, /a thenable \(an object with a then method\) is a value still to come: await it and pass its value$/);
});

test('a URL is refused with the advice to pass its href', async (t) => {
  const err = await t.throwsAsync(deferToThread(identity as Loose, new URL('https://example.test/')), { instanceOf: ValueNotCloneableError });
  t.is(err!.message, 'args[0] cannot be sent to another thread: a URL would arrive as {}: pass url.href instead '
    + '(new URL(href) in the thread makes it again)');
});

test('WeakMaps, WeakSets, WeakRefs and FinalizationRegistries are refused as impossible to copy', async (t) => {
  for (const value of [new WeakMap(), new WeakSet(), new WeakRef({}), new FinalizationRegistry(() => {})]) {
    const err = await t.throwsAsync(deferToThread(identity as Loose, value), { instanceOf: ValueNotCloneableError });
    t.regex(err!.message, new RegExp(`a ${value.constructor.name} holds objects weakly, .* so it cannot be copied`));
  }
});

test('an iterator is refused with the advice to collect it, another built-in with the advice to send its data', async (t) => {
  const gen = (function* items(): Generator<number> { yield 1; })();
  const iter = await t.throwsAsync(deferToThread(identity as Loose, gen), { instanceOf: ValueNotCloneableError });
  t.regex(iter!.message, /an iterator \(Generator\) cannot be copied: collect its items into an array and pass that$/);
  const ctl = await t.throwsAsync(deferToThread(identity as Loose, new AbortController()), { instanceOf: ValueNotCloneableError });
  t.regex(ctl!.message, /a built-in AbortController keeps its state outside its own properties, so it cannot be copied; send the plain data/);
});

test('an instance of an unregistered class is refused with both ways to send it: threadable, or flattenInstances', async (t) => {
  class Token { constructor(readonly type: string, readonly start: number) {} }
  const err = await t.throwsAsync(deferToThread(identity as Loose, [new Token('name', 0)]), { instanceOf: ValueNotCloneableError });
  t.is(err!.message, 'args[0][0] cannot be sent to another thread: an instance of Token would arrive as a plain object, '
    + 'its class lost: register the class with threadable(Token) if it is yours and it holds no private (#) members, which cannot cross; '
    + 'if it is plain data '
    + '(a parser\'s AST node, say), opt in with flattenInstances: true, on the call or the pool, to send it as a plain object '
    + 'of its own properties');
});

test('an instance of a subclass of Array, Map, Set, Date or RegExp is refused, naming its path; flattenInstances sends it as the built-in', async (t) => {
  // Structured clone keeps their contents and drops their class: they
  // arrived as the plain built-in, in silence (helper-128's fuzzing).
  class Row extends Array<number> {}
  class Index extends Map<string, number> {}
  class Tags extends Set<string> {}
  class Stamp extends Date {}
  class Pattern extends RegExp {}
  const cases: [object, string, unknown][] = [
    [Row.from([1, 2]), 'Array', [1, 2]], [new Index([['a', 1]]), 'Map', new Map([['a', 1]])], [new Tags(['x']), 'Set', new Set(['x'])],
    [new Stamp(0), 'Date', new Date(0)], [new Pattern('a+', 'g'), 'RegExp', /a+/g],
  ];
  for (const [value, base, plain] of cases) {
    const err = await t.throwsAsync(deferToThread(identity as Loose, { rows: [value] }), { instanceOf: ValueNotCloneableError });
    t.is((err as ValueNotCloneableError).path, 'args[0].rows[0]');
    t.is(err!.message, `args[0].rows[0] cannot be sent to another thread: an instance of ${value.constructor.name}, a subclass of ${base}, `
      + `would arrive as a plain ${base}, its class lost: send a plain ${base} of its contents, or opt in with flattenInstances: true, `
      + 'on the call or the pool, to send it as one');
    const result = await t.throwsAsync(deferToThread(returnsSubclass as Loose, base), { instanceOf: ValueNotCloneableError });
    t.is((result as ValueNotCloneableError).path, 'the result');
    t.deepEqual(await deferToThread.with({ flattenInstances: true })(identity as Loose, { rows: [value] }), { rows: [plain] });
  }
  // An array whose prototype was set to null or Object.prototype holds no class to lose: it crosses as an array.
  t.deepEqual(await deferToThread(identity as Loose, [Object.setPrototypeOf([1, 2], null), Object.setPrototypeOf([3], Object.prototype)]),
    [[1, 2], [3]]);
  // Under flattenInstances, a Map's (Set's, Date's…) own properties would be dropped: refused, named.
  const tagged = Object.assign(new Index([['a', 1]]), { tag: 'x' });
  const dropped = await t.throwsAsync(deferToThread.with({ flattenInstances: true })(identity as Loose, tagged), { instanceOf: ValueNotCloneableError });
  t.is(dropped!.message, 'args[0] cannot be sent to another thread: an instance of Index, a subclass of Map, would arrive as a plain Map '
    + 'without its own properties (tag): send them beside it');
  t.is(await deferToThread(add, 1, 2), 3);
});

// v8 writes a Map, Set, Date, RegExp or boxed primitive without its own
// properties (an array or plain object keeps them): they were dropped in
// silence (a user's trial).
test('a Date, Map, Set or RegExp with an own enumerable property is refused, naming its path and the property, in an argument and in a result', async (t) => {
  const date = await t.throwsAsync(deferToThread(identity as Loose, Object.assign(new Date(0), { tag: 1 })), { instanceOf: ValueNotCloneableError });
  t.is(date!.message, 'args[0] cannot be sent to another thread: a Date with own property \'tag\', which would arrive without it: '
    + 'send the property beside the Date (a plain object holding both, say), or a copy without it (new Date(value))');
  const cases: [object, string][] = [
    [Object.assign(new Date(0), { tag: 1 }), 'Date'], [Object.assign(new Map([['a', 1]]), { size2: 1 }), 'Map'],
    [Object.assign(new Set([1]), { label: 'x' }), 'Set'], [Object.assign(/a+/g, { source2: 'b' }), 'RegExp'],
    [Object.assign(new Number(1), { unit: 'kg' }), 'Number'], [Object.assign(new Boolean(true), { why: 'x' }), 'Boolean'],
    [Object.assign(new String('ab'), { lang: 'en' }), 'String'],
  ];
  for (const [value, base] of cases) {
    const key = Object.keys(value).at(-1)!;
    // (Beside a Map: the walk's path; a Date alone took the fast one, above.)
    const err = await t.throwsAsync(deferToThread(identity as Loose, { m: new Map(), at: [value] }), { instanceOf: ValueNotCloneableError });
    t.is((err as ValueNotCloneableError).path, 'args[0].at[0]');
    t.regex(err!.message, new RegExp(`: a ${base} with own property '${key}', which would arrive without it: `));
  }
  const made = (base: string): object => {
    switch (base) {
      case 'Date': return Object.assign(new Date(0), { tag: 1 });
      case 'Map': return { rows: [Object.assign(new Map(), { tag: 1 })] };
      case 'Set': return { rows: [Object.assign(new Set(), { tag: 1 })] };
      default: return { rows: [Object.assign(/a/, { tag: 1 })] };
    }
  };
  for (const [base, path] of [['Date', 'the result'], ['Map', 'the result.rows[0]'], ['Set', 'the result.rows[0]'], ['RegExp', 'the result.rows[0]']]) {
    const err = await t.throwsAsync(deferToThread(made, base!), { instanceOf: ValueNotCloneableError });
    t.is((err as ValueNotCloneableError).path, path);
    t.regex(err!.message, new RegExp(`: a ${base} with own property 'tag', which would arrive without it: `));
  }
});

test('a String wrapper crosses with its characters, which are not own properties to refuse', async (t) => {
  const back = await deferToThread(identity as Loose, { m: new Map(), s: new String('ab') }) as { s: object };
  t.true(back.s instanceof String);
  t.is(String(back.s), 'ab');
  // Under flattenInstances a String subclass's instance crosses as the plain String.
  class Label extends String {}
  const flat = await deferToThread.with({ flattenInstances: true })(identity as Loose, new Label('xy'));
  t.is(Object.getPrototypeOf(flat), String.prototype);
  t.is(String(flat), 'xy');
});

test('a Date with a non-enumerable own property crosses without it, as elsewhere', async (t) => {
  const hidden = Object.defineProperty(new Date(5), 'tag', { value: 1 });
  for (const value of [hidden, { m: new Map(), at: hidden }]) {
    const back = await deferToThread(identity as Loose, value) as Date | { at: Date };
    const date = back instanceof Date ? back : back.at;
    t.is(date.getTime(), 5);
    t.false(Object.hasOwn(date, 'tag'));
  }
  const pattern = /a/g;
  pattern.lastIndex = 1;
  const back = await deferToThread(identity as Loose, { m: new Map(), pattern }) as { pattern: RegExp };
  t.is(back.pattern.source, 'a');
});

test('a class instance that flattenInstances could not send is not advised to use it, and is told why', async (t) => {
  class Gauge { constructor() { Object.defineProperty(this, 'level', { get: () => 1, enumerable: true }); } }
  const err = await t.throwsAsync(deferToThread(identity as Loose, new Gauge()), { instanceOf: ValueNotCloneableError });
  t.regex(err!.message, /register the class with threadable\(Gauge\) if it is yours \(flattenInstances cannot send it: its own property 'level' is an accessor/);
  const { EventEmitter } = await import('node:events');
  const emitter = await t.throwsAsync(deferToThread(identity as Loose, new EventEmitter()), { instanceOf: ValueNotCloneableError });
  t.notRegex(emitter!.message, /opt in/);
});

test('a class instance with private state is refused rather than flattened', async (t) => {
  class Account { #balance = 10; get balance(): number { return this.#balance; } }
  const err = await t.throwsAsync(deferToThread(identity as Loose, [new Account()]), { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'args[0][0]');
});

test('an instance of a class registered with threadable crosses as that class, both ways', async (t) => {
  t.deepEqual(await deferToThread(describePoint, new Point(3, 4)), { isPoint: true, length: 5 });
  const p = await deferToThread(makePoint, 6, 8);
  t.true(p instanceof Point);
  t.is(p.length(), 10);
});

// A registered class's instance is made on arrival from its prototype,
// its constructor not run: it lacked its class's private members, and
// reading one threw "Cannot read private member" (a user's trial).
test('an instance of a registered class with a private member, its own or its superclass\'s, is refused with its path, in an argument and in a result', async (t) => {
  const own = await t.throwsAsync(deferToThread(identity as Loose, { at: [new Vault('v')] }), { instanceOf: ValueNotCloneableError });
  t.is((own as ValueNotCloneableError).path, 'args[0].at[0]');
  t.is(own!.message, 'args[0].at[0] cannot be sent to another thread: an instance of Vault cannot cross: its class has private members '
    + '(#secret), which an instance made in another thread cannot have, since its constructor does not run there: keep the state '
    + 'that crosses in ordinary (string-keyed) properties, and the methods and accessors that use it public');
  const inherited = await t.throwsAsync(deferToThread(identity as Loose, new Locker('l')), { instanceOf: ValueNotCloneableError });
  t.is((inherited as ValueNotCloneableError).path, 'args[0]');
  t.regex(inherited!.message, /: an instance of Locker cannot cross: its class has private members \(#x, declared by its superclass Guarded\)/);
  for (const [which, path] of [['Vault', 'the result.at[0]'], ['Locker', 'the result']]) {
    const err = await t.throwsAsync(deferToThread(makeGuarded, which!), { instanceOf: ValueNotCloneableError });
    t.is((err as ValueNotCloneableError).path, path);
  }
});

test('an instance of a registered class with only a static private member crosses as its class', async (t) => {
  const back = await deferToThread(identity as Loose, { at: new Tally(3) }) as { at: Tally };
  t.true(back.at instanceof Tally);
  t.is(back.at.n, 3);
});

test('a class\'s private members are read from its own body: methods and accessors count; static ones and a nested class\'s do not', async (t) => {
  class Method { #m(): number { return 1; } call(): number { return this.#m(); } }
  class Nested { make(): object { return new (class { #inner = 1; })(); } }
  class Static { static #count = 0; static count(): number { return Static.#count; } }
  t.is(privateMemberOf(Method)?.member, '#m');
  t.is(privateMemberOf(Nested), null);
  t.is(privateMemberOf(Static), null);
  t.is(privateMemberOf(Point), null);
  t.is(privateMemberOf(Map), null);
  // (A module's class may use import.meta, which a script does not parse.)
  const { WithMeta } = await import('./_fixtures/meta-class.mjs');
  t.is(privateMemberOf(WithMeta)?.member, '#url');
});

test('a result that would change is refused, naming its path', async (t) => {
  const err = await t.throwsAsync(deferToThread(returnUrl), { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'the result.at');
});

test('symbols and WeakMaps are refused with their path', async (t) => {
  const sym = await t.throwsAsync(deferToThread(identity as Loose, { tag: Symbol('t') }), { instanceOf: ValueNotCloneableError });
  t.is((sym as ValueNotCloneableError).path, 'args[0].tag');
  const weak = await t.throwsAsync(deferToThread(identity as Loose, [1, new WeakMap()]), { instanceOf: ValueNotCloneableError });
  t.is((weak as ValueNotCloneableError).path, 'args[0][1]');
});

// Structured clone drops a symbol-keyed property in silence, and the fast
// path's format has no word for one either: it used to vanish on the way.
test('an own symbol-keyed property is refused, naming its object\'s path, in an argument and in a result', async (t) => {
  const tag = Symbol('tag');
  const plain = await t.throwsAsync(deferToThread(identity as Loose, { a: 1, [tag]: 2 }), { instanceOf: ValueNotCloneableError });
  t.is(plain!.message, 'args[0] cannot be sent to another thread: a symbol-keyed property (Symbol(tag)) cannot be copied to '
    + 'another thread: key it by a string, or send the object without it');
  // Beside a Map (the walk's path, not the fast one), on an array, on a registered class's instance.
  const cases: [unknown, string][] = [
    [[new Map(), { rows: [{ id: 1, [tag]: 'x' }] }], 'args[0][1].rows[0]'],
    [{ list: Object.assign([1, 2], { [tag]: true }) }, 'args[0].list'],
    [{ at: Object.assign(new Point(1, 2), { [tag]: 0 }) }, 'args[0].at'],
    // A copy of a fromModule() reference carries its brand, not its identity.
    [{ copy: { ...fromModule('./_fixtures/tasks-esm.mjs', 'plainExport'), extra: 1 } }, 'args[0].copy'],
  ];
  for (const [value, path] of cases) {
    const err = await t.throwsAsync(deferToThread(identity as Loose, value), { instanceOf: ValueNotCloneableError });
    t.is((err as ValueNotCloneableError).path, path);
  }
  // A non-enumerable one is not data: it is dropped, as a non-enumerable string-keyed one is.
  t.deepEqual(await deferToThread(identity as Loose, { hidden: Object.defineProperty({ a: 1 }, tag, { value: 1 }) }), { hidden: { a: 1 } });
  const fast = await t.throwsAsync(deferToThread(() => ({ rows: [{ id: 1, [Symbol('tag')]: 'x' }] })), { instanceOf: ValueNotCloneableError });
  t.is((fast as ValueNotCloneableError).path, 'the result.rows[0]');
  const walked = await t.throwsAsync(deferToThread(() => ({ m: new Map(), o: { [Symbol('tag')]: 1 } })), { instanceOf: ValueNotCloneableError });
  t.is((walked as ValueNotCloneableError).path, 'the result.o');
});

// The walk's markers are plain objects under one key: a look-alike sent
// beside a real marker was revived on arrival, a reference naming a module
// its sender chose among them (a job's payload, forwarded by a task).
// helper-148's differential hunt: these arrived changed, or failed untyped.
test('an array\'s properties beside its items cross when an item of it is changed on the way (an Error, a cycle), also with a null prototype', async (t) => {
  const withCycle: unknown[] & { extra?: string } = [{}];
  (withCycle[0] as { self?: unknown }).self = withCycle[0];
  withCycle.extra = 'x';
  t.is(await deferToThread((v: { extra?: string }) => v.extra, withCycle), 'x');
  const withError: unknown[] & { meta?: number } = [new Error('e')];
  withError.meta = 1;
  const back = await deferToThread(identity as Loose, withError) as unknown[] & { meta?: number };
  t.is(back.meta, 1);
  t.true(back[0] instanceof Error);
  // (slice() is no method of an array whose prototype is null: a TypeError with no path.)
  const bare: unknown[] = [1];
  bare.push(bare);
  Object.setPrototypeOf(bare, null);
  t.deepEqual(await deferToThread((v: unknown[]) => [v.length, v[1] === v], bare), [2, true]);
  // Walked as the items are: their classes kept, their cycles and sharing closed on the copy (helper-151).
  const cyclic: unknown[] & { self?: unknown } = [new Point(1, 2)];
  cyclic.self = cyclic;
  const cyclicBack = await deferToThread(identity as Loose, cyclic) as unknown[] & { self?: unknown };
  t.is(cyclicBack.self, cyclicBack);
  t.true(cyclicBack[0] instanceof Point);
  const shared = { q: new Point(3, 4) };
  const sharing: unknown[] & { extra?: unknown } = [shared];
  sharing.extra = shared;
  const sharingBack = await deferToThread(identity as Loose, sharing) as unknown[] & { extra?: { q: unknown } };
  t.is(sharingBack.extra as unknown, sharingBack[0]);
  t.true(sharingBack.extra!.q instanceof Point);
  // (An own constructor is no species to run: a plain TypeError with no path.)
  const withConstructor: unknown[] & { constructor?: unknown } = [new Error('e')];
  withConstructor.constructor = 'x';
  t.is((await deferToThread(identity as Loose, withConstructor) as { constructor?: unknown }).constructor, 'x');
  // Errors and registered classes there arrive as themselves, not as the walk's markers (helper-153), both ways.
  const beside = Object.assign([new Error('item')], { e: new RangeError('r'), p: new Point(1, 2), up: {} as unknown });
  beside.up = { to: beside };
  const besideBack = await deferToThread(identity as Loose, beside) as typeof beside;
  t.true(besideBack.e instanceof RangeError);
  t.true(besideBack.p instanceof Point);
  t.is((besideBack.up as { to: unknown }).to, besideBack);
  const twice = { one: beside, two: beside };
  const twiceBack = await deferToThread(identity as Loose, twice) as typeof twice;
  t.is(twiceBack.one, twiceBack.two);
  t.true(twiceBack.two.p instanceof Point);
});

test('a function just past the depth the walk checks is refused, as one level deeper is, not sent as the walk\'s marker', async (t) => {
  let nested: unknown = () => 1;
  // (args[0] is one level down: WALK_MAX_DEPTH - 1 arrays put the function at WALK_MAX_DEPTH.)
  for (let i = 0; i < WALK_MAX_DEPTH - 1; i++) nested = [nested];
  await t.throwsAsync(deferToThread((v: unknown) => JSON.stringify(v).slice(-80), nested), { instanceOf: ValueNotCloneableError });
});

test('built-ins are told by what they are, not by their prototype or their class\'s name', async (t) => {
  class BigInt { secret = 1; }
  for (const v of [new BigInt(), Object.create(Date.prototype) as object, Object.create(Map.prototype) as object, Object.create(RegExp.prototype) as object]) {
    await t.throwsAsync(deferToThread(identity as Loose, v), { instanceOf: ValueNotCloneableError }, String(Object.getPrototypeOf(v)?.constructor?.name));
  }
  const boxed = Object.assign(Object(5n) as object, { p: 1 });
  await t.throwsAsync(deferToThread(identity as Loose, boxed), { instanceOf: ValueNotCloneableError, message: /own property 'p'/ });
  t.is(typeof (await deferToThread(identity as Loose, Object(5n)) as object).valueOf(), 'bigint');
});

test('a plain object with an own property of the markers\' key is refused, naming its path', async (t) => {
  const crafted = { __reactorThreads: { k: 'module', ref: { specifier: 'node:child_process', exportName: 'exec' } } };
  const err = await t.throwsAsync(deferToThread(identity as Loose, [crafted, () => 1]), { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'args[0][0]');
  t.regex(err!.message, /reserved/);
  // (Alone, it goes the fast codec's way, which let it cross: helper-148.)
  await t.throwsAsync(deferToThread(identity as Loose, { __reactorThreads: 1 }), { instanceOf: ValueNotCloneableError, message: /reserved/ });
});

// A fromModule() reference is branded by a symbol-keyed property: it used
// to arrive as a plain { specifier, exportName }, which callFromThread and
// blockingCallFromThread refused with a TypeError.
test('a fromModule() reference passed as an argument is a reference in the thread, which its reactor calls accept', async (t) => {
  const seen: string[] = [];
  (globalThis as { reactorLog?: string[] }).reactorLog = seen;
  const refs = {
    later: fromModule<(s: string) => void>('./_fixtures/reactor-log.cjs', 'logOnReactor'),
    now: fromModule<(x: number) => string>('./_fixtures/tasks-esm.mjs', 'plainExport'),
  };
  t.is(await deferToThread(callGivenReferences, refs, (s: string) => { seen.push(s); }), 'plain:9');
  t.deepEqual(seen, ['called from the thread', 'second']);
});

test('a fromModule() reference crosses as itself, nested or returned, and is one object however often it is met', async (t) => {
  const ref = fromModule<(x: number) => string>('./_fixtures/tasks-esm.mjs', 'plainExport');
  const back = await deferToThread(identity as Loose, { a: ref, list: [ref] }) as { a: typeof ref; list: [typeof ref] };
  t.is(back.a, back.list[0]);
  t.like(back.a, { specifier: './_fixtures/tasks-esm.mjs', exportName: 'plainExport' });
  // (Its specifier still resolves from the file that called fromModule().)
  t.is(await deferToThread(back.a, 9), 'plain:9');
  const made = await deferToThread(referenceFromThread);
  t.is(await deferToThread(made, 4), 'plain:4');
});

test('an Error passed as a value keeps its class', async (t) => {
  const back = await deferToThread(identity as Loose, { failure: new RangeError('as data') }) as { failure: Error };
  t.true(back.failure instanceof RangeError);
  t.is(back.failure.message, 'as data');
});

test('what structured clone copies faithfully crosses as it is', async (t) => {
  const value = {
    when: new Date(0), pattern: /a+/gi, map: new Map([[1, 'one']]), set: new Set(['x']),
    bytes: new Uint8Array([1, 2, 3]), big: 10n ** 20n, nested: [{ deep: [null, undefined, true] }],
  };
  t.deepEqual(await deferToThread(identity as Loose, value), value);
});

test('NaN and array holes cross as they are, also in a value that carries markers', async (t) => {
  // eslint-disable-next-line no-sparse-arrays
  const plain = await deferToThread(identity as Loose, [NaN, , 3]) as number[];
  t.is(plain.length, 3);
  t.false(1 in plain, 'a hole stays a hole');
  t.true(Number.isNaN(plain[0]));
  // eslint-disable-next-line no-sparse-arrays
  const marked = await deferToThread(identity as Loose, { at: new Point(1, 2), holes: [1, , NaN] }) as { at: Point; holes: number[] };
  t.true(marked.at instanceof Point);
  t.false(1 in marked.holes, 'a hole stays a hole beside a registered class');
  t.true(Number.isNaN(marked.holes[2]));
});

// The walk used to keep only the objects on its path: a part shared by
// two parents was walked once per path (a value of 40 levels, each holding
// the next twice, never finished), and a copy made for a registered class
// closed its cycles on the original, so the class arrived as a plain object.
test('a value that shares its parts arrives with them shared, however many paths lead to them', async (t) => {
  let shared: Record<string, unknown> = { at: new Point(1, 2) };
  for (let i = 0; i < 40; i++) shared = { left: shared, right: shared };
  const back = await deferToThread(identity as Loose, shared) as Record<string, Record<string, unknown>>;
  t.is(back.left, back.right);
  let leaf: Record<string, unknown> = back;
  for (let i = 0; i < 40; i++) leaf = leaf.left as Record<string, unknown>;
  t.true(leaf.at instanceof Point);
});

test('a cycle through a registered class, an array or a Map arrives as the same cycle, with its classes', async (t) => {
  const point = new Point(3, 4) as Point & { self?: unknown };
  point.self = point;
  const list: unknown[] = [new Point(1, 1)];
  list.push(list);
  const byName = new Map<string, unknown>([['p', new Point(0, 1)]]);
  byName.set('me', byName);
  const [p, l, m] = await deferToThread(identity as Loose, [point, list, byName]) as [typeof point, unknown[], Map<string, unknown>];
  t.true(p instanceof Point);
  t.is(p.self, p);
  t.true(l[0] instanceof Point);
  t.is(l[1], l);
  t.true(m.get('p') instanceof Point);
  t.is(m.get('me'), m);
  t.deepEqual([...m.keys()], ['p', 'me'], 'in its order');
});

/** `leaf` under `levels` objects: `{ next: { next: … leaf } }`. */
function nestedIn(levels: number, leaf: unknown): Record<string, unknown> {
  let v = leaf as Record<string, unknown>;
  for (let i = 0; i < levels; i++) v = { next: v };
  return v;
}

// The walk stops WALK_MAX_DEPTH levels down (what lies deeper crosses as
// it is): a part met first below that depth and again nearer the top is
// walked again from there, or what the shorter path holds would depend on
// which path the walk took first (the class arrived as a plain object).
test('a part met first deep down and again near the top keeps its classes on the near path', async (t) => {
  const part = { at: new Point(1, 2) };
  // (args[0][0] is 2 levels down: `part` is WALK_MAX_DEPTH - 1 down on this path, its Point WALK_MAX_DEPTH.)
  const deep = nestedIn(WALK_MAX_DEPTH - 3, part);
  const [, near] = await deferToThread(identity as Loose, [deep, part]) as [unknown, typeof part];
  t.true(near.at instanceof Point);
});

test('a registered class 200 levels deep crosses as its class, and an unregistered one is refused there, naming its path', async (t) => {
  // (The walk stopped 64 levels down: both arrived as plain objects, in
  // silence; helper-128's fuzzing.)
  const levels = 200;
  const sent = nestedIn(levels, { at: new Point(3, 4) });
  let back = await deferToThread(identity as Loose, sent) as Record<string, unknown>;
  for (let i = 0; i < levels; i++) back = back.next as Record<string, unknown>;
  t.true(back.at instanceof Point);
  class Token { constructor(readonly type: string) {} }
  const err = await t.throwsAsync(deferToThread(identity as Loose, nestedIn(levels, new Token('name'))), { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, `args[0]${'.next'.repeat(levels)}`);
});

test('a getter that recurses for ever is refused as not cloneable where the walk ran out, its RangeError the cause', async (t) => {
  // (The refusal named the root and dropped the RangeError: helper-133's review.)
  // (The Map first sends the value the walk's way: the fast path's check, which reads the getter once too, throws its RangeError as it is.)
  const looping = { get deep(): unknown { return (looping as { deep: unknown }).deep; } };
  const err = await t.throwsAsync(deferToThread(identity as Loose, 1, { m: new Map(), inner: looping }), { instanceOf: ValueNotCloneableError });
  t.is((err as ValueNotCloneableError).path, 'args[1].inner');
  t.true((err!.cause as Error).cause instanceof RangeError);
});

test('a value that the walk cannot finish for want of stack is refused as not cloneable, naming where it ran out', (t) => {
  // (A call made deep in the caller's own stack: the stack's RangeError
  // escaped from the walk as it was.) Each level of this recursion, from
  // the deepest up, tries the walk until one enters it, and runs out in it.
  const value = nestedIn(WALK_MAX_DEPTH - 10, { at: new Point(1, 1) });
  const outbound = { callables: null, handles: null, flatten: false };
  const walkAtTheEdge = (): unknown => {
    try {
      return walkAtTheEdge();
    } catch (e) {
      if (e instanceof ValueNotCloneableError) throw e;
      return prepareOutbound(value, 'args[0]', outbound);
    }
  };
  const err = t.throws(walkAtTheEdge, { instanceOf: ValueNotCloneableError });
  t.regex((err as ValueNotCloneableError).path, /^args\[0\](\.next)*$/);
  t.regex(err!.message, /the walk over it ran out of stack here: it is nested too deeply/);
  t.true((err!.cause as Error).cause instanceof RangeError);
});

test('an own __proto__ key whose value holds a registered class stays an own key', async (t) => {
  const value = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, Record<string, unknown>>;
  value['__proto__']!.at = new Point(1, 2);
  const back = await deferToThread(identity as Loose, value) as Record<string, Record<string, unknown>>;
  t.true(Object.hasOwn(back, '__proto__'));
  t.is(Object.getPrototypeOf(back), Object.prototype);
  t.true(back['__proto__']!.at instanceof Point);
  t.is(back['__proto__']!.polluted, true);
});

test('an own __proto__ property of a registered class instance stays an own property', async (t) => {
  const point = new Point(1, 2);
  Object.defineProperty(point, '__proto__', { value: { polluted: true }, enumerable: true, writable: true, configurable: true });
  const back = await deferToThread(identity as Loose, point) as Point & Record<string, Record<string, unknown>>;
  t.true(back instanceof Point);
  t.true(Object.hasOwn(back, '__proto__'));
  t.is(back['__proto__']!.polluted, true);
});

test('a 10 MB message crosses whole', async (t) => {
  const big = 'x'.repeat(10 * 1024 * 1024);
  t.is(await deferToThread((s: string) => s.length, big), big.length);
  const back = await deferToThread(identity as Loose, { big }) as { big: string };
  t.is(back.big.length, big.length);
});

test('the pool keeps serving after every refusal', async (t) => {
  await t.throwsAsync(deferToThread(identity as Loose, new URL('https://example.test/')));
  await t.throwsAsync(deferToThread(returnUrl));
  await t.throwsAsync(deferToThread(identity as Loose, Symbol('s')));
  await t.throwsAsync(deferToThread(identity as Loose, { [Symbol('s')]: 1 }), { instanceOf: ValueNotCloneableError });
  await t.throwsAsync(deferToThread(() => ({ [Symbol('s')]: 1 })), { instanceOf: ValueNotCloneableError });
  t.is(await deferToThread(add, 2, 2), 4);
});

// Paths into Maps and Sets: `.get(key)` for a Map value under a primitive
// key, else `.values()[i]`; `.keys()[i]` for a Map key; `.values()[i]` for
// a Set member (i counts entries in iteration order).
test('what would change inside a Map or Set is refused, naming its path', async (t) => {
  class Tag { constructor(readonly name: string) {} }
  const url = new URL('https://example.test/');
  const cases: [unknown, string][] = [
    [new Map([['home', url]]), 'args[0].get("home")'],
    [{ tags: new Set(['plain', new Tag('a')]) }, 'args[0].tags.values()[1]'],
    [new Map([[url, 1]]), 'args[0].keys()[0]'],
    [new Map<unknown, unknown>([[1, 'one'], [{ id: 1 }, url]]), 'args[0].values()[1]'],
    [new Map([[7, new Set([new Map([['deep', url]])])]]), 'args[0].get(7).values()[0].get("deep")'],
  ];
  for (const [value, path] of cases) {
    const err = await t.throwsAsync(deferToThread(identity as Loose, value), { instanceOf: ValueNotCloneableError }, path);
    t.is((err as ValueNotCloneableError | undefined)?.path, path);
  }
});

test('a result that would change inside a Map or Set is refused, naming its path', async (t) => {
  const inMap = await t.throwsAsync(deferToThread(() => new Map([['at', new URL('https://example.test/')]])),
    { instanceOf: ValueNotCloneableError });
  t.is((inMap as ValueNotCloneableError).path, 'the result.get("at")');
  const fnInMap = await t.throwsAsync(deferToThread(() => ({ m: new Map([['f', () => 1]]) })), { instanceOf: ValueNotCloneableError });
  t.is((fnInMap as ValueNotCloneableError).path, 'the result.m.get("f")');
  t.regex(fnInMap!.message, /function/);
});

test('registered classes and errors inside Maps and Sets cross as themselves, both ways', async (t) => {
  t.deepEqual(await deferToThread(describePointsIn, { map: new Map([['p', new Point(1, 1)]]), set: new Set([new Point(2, 2), new Point(3, 3)]) }),
    [true, true, true]);
  const back = await deferToThread(makePointCollections);
  t.true(back.map.get('p') instanceof Point);
  t.is(back.map.get('p')!.length(), 5);
  const [member] = [...back.set];
  t.true(member instanceof Point);
  t.is(member!.length(), 10);
  const keyed = await deferToThread(identity as Loose, new Map([[new Point(0, 1), new RangeError('as data')]])) as Map<Point, Error>;
  const [[k, v]] = [...keyed];
  t.true(k instanceof Point);
  t.true(v instanceof RangeError);
});

test('functions inside a Map or Set passed to a thread become reactor callables', async (t) => {
  let calls = 0;
  const ops = new Map([['double', (x: number) => { calls++; return x * 2; }]]);
  t.is(await deferToThread((m: Map<string, (x: number) => number>) => m.get('double')!(21), ops), 42);
  const hooks = new Set([() => { calls++; return 'a'; }, () => { calls++; return 'b'; }]);
  t.deepEqual(await deferToThread((s: Set<() => string>) => [...s].map((f) => f()), hooks), ['a', 'b']);
  t.is(calls, 3);
});

// A pool thread with a larger stack than the reader's writes values
// nested deeper than the reader can read (v8's reader recurses per
// level): the reader refuses them with the writer's error class, not a
// bare RangeError. 100,000 levels overflow a 4 MB stack (a Worker's, as
// this test's thread is) on Node 20 to 26 (20,000 did not on Node 26);
// the 64 MB threads write them with room.
test('a value nested too deeply for the reading thread\'s stack is refused as not cloneable, and the pool keeps serving', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, resourceLimits: { stackSizeMb: 64 } });
  pool.start();
  t.teardown(() => pool.stop());
  const result = await t.throwsAsync(deferToThreadPool(reactor, pool, nestedArraysOf, 100_000), { instanceOf: ValueNotCloneableError });
  t.is((result as ValueNotCloneableError).path, 'the result');
  t.regex(result!.message, /^the result arrived nested too deeply to be read with this thread's stack .*: Maximum call stack size exceeded$/);
  t.true(result!.cause instanceof RangeError);
  // The same from a pool thread's blocking call: the reactor refuses its arguments.
  t.like(await deferToThreadPool(reactor, pool, sendNestedToReactor, 100_000),
    { name: 'ValueNotCloneableError', code: 'ERR_VALUE_NOT_CLONEABLE', path: 'args' });
  t.is(await deferToThreadPool(reactor, pool, depthOf, [[[0]]]), 3);
  t.is(await deferToThreadPool(reactor, pool, nestedArraysOf, 100).then((v) => deferToThreadPool(reactor, pool, depthOf, v)), 100);
});
