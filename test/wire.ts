// The value codec: the fast path (primitives, and small trees of plain
// arrays and objects) and the v8 path agree on what arrives, including the
// edge values of each type and the shapes only v8's format can say.
import test from 'ava';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { deferToThread } from 'reactor-threads';
import { decodeFast, encodeFastArgs, encodeFastList, encodeFastOne } from '../dist/codec/fast-codec.js';

const identity = <T>(x: T): T => x;

test('primitive arguments and results round-trip exactly', async (t) => {
  const values = [0, -0, 1.5, -1e308, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity,
    true, false, null, undefined, '', 'plain', 'ünïcødé ✓ 𝄞', 'x'.repeat(1024),
    // Around the byte-by-byte copy of short ASCII strings (12 units): its edges, and what leaves it.
    '\0\x7f', 'x'.repeat(12), 'x'.repeat(13), `${'x'.repeat(11)}é`, 'é', '𝄞', `a${'\x80'}`];
  for (const v of values) t.is(await deferToThread(identity, v), v, `value ${String(v)}`);
  t.deepEqual(await deferToThread((...a: unknown[]) => a, ...values), values);
});

test('numbers decode exactly around the 32-bit integers, which take 5 bytes, not 9', (t) => {
  const edges = [0, -0, 1, -1, 255, 256, 65_536, 2 ** 24, -(2 ** 24), 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1,
    2 ** 32 - 1, 2 ** 32, 0.5, -1.5, 5e-324, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, NaN, Infinity, -Infinity];
  for (const v of edges) {
    const one = encodeFastOne(v)!;
    t.true(Object.is(decodeFast(Buffer.from(one)), v), `${Object.is(v, -0) ? '-0' : String(v)} alone`);
    const int32 = (v | 0) === v && !Object.is(v, -0);
    t.is(one.length, int32 ? 6 : 10, `${Object.is(v, -0) ? '-0' : String(v)}: ${int32 ? 'a 32-bit integer' : 'a double'}`);
  }
  const list = decodeFast(Buffer.from(encodeFastList(edges)!)) as number[];
  t.true(list.every((v, i) => Object.is(v, edges[i])), 'the same, as arguments side by side');
  fc.assert(fc.property(fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.double()), (v) => {
    const back = decodeFast(Buffer.from(encodeFastList([v, 'x', v])!)) as unknown[];
    return Object.is(back[0], v) && back[1] === 'x' && Object.is(back[2], v);
  }));
});

test('a fast payload cut short throws instead of decoding to garbage', (t) => {
  const rows = [{ id: 1, name: 'ab', at: new Date(0) }, { id: 2 ** 40, name: 'é'.repeat(20), at: new Date(1) }];
  const values: unknown[] = [7, -1.5, 'short', 'x'.repeat(40), true, null, undefined, [1, [2, 'three']], rows];
  // (Copied: the encoders write to one scratch buffer.)
  const payloads = [...values.map((v) => Buffer.from(encodeFastOne(v)!)), Buffer.from(encodeFastList(values)!), Buffer.from(encodeFastList([])!)];
  // With buffers that move beside the bytes (named by their index), the
  // list last: a cut inside an index names no buffer.
  const buffers = [new ArrayBuffer(8), new ArrayBuffer(16)];
  const movable = (v: unknown): ArrayBuffer | undefined => {
    const ab = ArrayBuffer.isView(v) ? v.buffer as ArrayBuffer : v as ArrayBuffer;
    return buffers.includes(ab) ? ab : undefined;
  };
  const withMoved = encodeFastArgs([{ a: buffers[0], b: 1 }, [new Uint8Array(buffers[1]!)]], movable)!;
  t.is(withMoved.transfers?.length, 2);
  payloads.push(Buffer.from(withMoved.bytes));
  let cuts = 0;
  for (const whole of payloads) {
    const moved = whole === payloads.at(-1) ? buffers : undefined;
    t.notThrows(() => decodeFast(Buffer.from(whole), moved));
    for (let n = 0; n < whole.length; n++) {
      t.throws(() => decodeFast(Buffer.from(whole.subarray(0, n)), moved), { instanceOf: RangeError, message: /ended early/ },
        `cut to ${n} of ${whole.length} bytes`);
      cuts++;
    }
  }
  t.true(cuts > 300);
  t.throws(() => decodeFast(Buffer.from(encodeFastOne('x'.repeat(40))!.subarray(0, 20))),
    { instanceOf: RangeError, message: /ended early/ });
});

test('values beyond the fast path still cross: long strings, objects, bigints', async (t) => {
  const long = 'y'.repeat(5000);
  t.is(await deferToThread(identity, long), long);
  t.deepEqual(await deferToThread(identity, { a: [1, { b: 'c' }] }), { a: [1, { b: 'c' }] });
  t.is(await deferToThread(identity, 10n ** 30n), 10n ** 30n);
  const mixed = [1, 'two', { three: 3 }];
  t.deepEqual(await deferToThread((...a: unknown[]) => a, ...mixed), mixed);
});

test('many arguments beyond the fast path limit arrive in order', async (t) => {
  const many = Array.from({ length: 300 }, (_, i) => i);
  t.deepEqual(await deferToThread((...a: number[]) => a, ...many), many);
});

test('strings with lone surrogates cross unchanged, as arguments and as results', async (t) => {
  const lone = ['\ud800', 'a\udc00b', '\udfff\ud800', `${'x'.repeat(10)}\ud83d`];
  // Each direction on its own: the code units the thread received, and a
  // result made in the thread.
  for (const s of lone) {
    t.deepEqual(await deferToThread((v: string) => Array.from(v, (c) => c.charCodeAt(0)), s),
      Array.from(s, (c) => c.charCodeAt(0)), `argument ${JSON.stringify(s)}`);
  }
  t.is(await deferToThread(() => String.fromCharCode(0xd800)), '\ud800', 'result');
  for (const s of lone) t.is(await deferToThread(identity, s), s, `round trip ${JSON.stringify(s)}`);
  t.deepEqual(await deferToThread((...a: string[]) => a, ...lone), lone);
  t.is(await deferToThread(identity, '\ud83d\ude00'), '\ud83d\ude00', 'a well-formed pair is still one character');
});

/** `v` with every object's keys in order and every array's holes said: what deepEqual alone would not compare. */
function shape(v: unknown, open = new Set<unknown>()): unknown {
  if (typeof v !== 'object' || v === null) return Object.is(v, -0) ? '-0' : v;
  if (open.has(v)) return 'cycle';
  open.add(v);
  let s: unknown;
  if (Array.isArray(v)) {
    s = ['array', Array.from({ length: v.length }, (_, i) => (i in v ? shape(v[i], open) : 'hole')),
      Object.keys(v).filter((k) => !/^\d+$/.test(k)).map((k) => [k, shape((v as unknown as Record<string, unknown>)[k], open)])];
  } else if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
    s = ['object', Object.getPrototypeOf(v) === null, Object.keys(v).map((k) => [k, shape((v as Record<string, unknown>)[k], open)])];
  } else {
    s = v;  // (deepEqual compares the rest.)
  }
  open.delete(v);
  return s;
}

const v8RoundTrip = (v: unknown): unknown => deserialize(serialize(v));

const plainTree = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' },
    fc.integer(), fc.double(), fc.string({ unit: 'grapheme' }), fc.boolean(), fc.constant(null), fc.constant(undefined),
    fc.date({ noInvalidDate: false }), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 6 }),
  object: fc.dictionary(fc.string({ unit: 'grapheme' }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 6, noNullPrototype: true }),
})).value;

test('plain arrays and objects take the fast path and arrive as v8 makes them, keys in order', (t) => {
  const samples: unknown[] = [
    [], {}, [1, 'two', null, undefined, true, -0, NaN], { ok: true, n: 3, tags: ['a', 'b'] },
    { 2: 'two', b: 1, 1: 'one', a: 2 }, [[[]], [{}], { a: [{ b: [] }] }], { toString: 1, constructor: 'x', '': 0 },
    { ünï: 'cødé 𝄞', '𝄞': [0], [`${'k'.repeat(11)}é`]: 'é', ['\0\x7f']: 'x'.repeat(13) },
    Object.assign(Object.create(Object.prototype) as object, { made: 'by create' }),
    { get computed() { return 42; } }, Object.freeze({ frozen: [1] }),
  ];
  for (const v of samples) {
    const one = encodeFastOne(v);
    t.truthy(one, `result ${JSON.stringify(shape(v))} takes the fast path`);
    t.deepEqual(shape(decodeFast(Buffer.from(one!))), shape(v8RoundTrip(v)));
    const list = encodeFastList([v, 1, ['x']]);
    t.truthy(list, 'as an argument beside others');
    t.deepEqual(shape(decodeFast(Buffer.from(list!))), shape(v8RoundTrip([v, 1, ['x']])));
  }
});

test('random plain trees decode as v8 round-trips them (fast-check)', (t) => {
  fc.assert(fc.property(plainTree, (v) => {
    const enc = encodeFastList([v]);
    if (!enc) return typeof v === 'string';  // only a string over the limit or with a lone surrogate may leave the path
    t.deepEqual(shape(decodeFast(Buffer.from(enc))), shape(v8RoundTrip([v])));
    return true;
  }), { numRuns: 500 });
  t.pass();
});

test('what only the v8 format says leaves the fast path and crosses as v8 makes it', async (t) => {
  const shared = { s: 1 };
  const cycle: Record<string, unknown> = { name: 'cycle' };
  cycle.self = cycle;
  const extra = Object.assign([1, 2], { label: 'x' });
  const match = 'abc'.match(/b/)!;
  const withProto = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object;
  const nullProto = Object.assign(Object.create(null) as object, { a: 1 });
  // (Past 32 containers, those met are looked up in a Set, not a list.)
  const sharedLate = [...Array.from({ length: 40 }, (_, i) => ({ i })), shared, { last: shared }];
  const cycleLate: unknown[] = Array.from({ length: 40 }, (_, i) => [i]);
  (cycleLate[39] as unknown[]).push(cycleLate);
  const cases: [string, unknown][] = [
    ['an object met twice', [shared, shared]], ['a cycle', cycle], ['a hole', [1, , 3]],
    ['a property beside the items', extra], ['a hole and a property beside the items', Object.assign([1, , 3], { x: 1 })], ['a RegExp match', match], ['an own __proto__', withProto],
    ['a null-prototype object', nullProto], ['an object met twice, after many', sharedLate], ['a cycle, after many', cycleLate],
    ['a lone surrogate inside', { s: '\ud800' }], ['a bigint inside', { n: 1n }], ['a RegExp inside', [/a+/g]],
    ['a Map inside', { m: new Map([[1, 2]]) }], ['a typed array inside', { b: new Uint8Array([1]) }],
  ];
  for (const [what, v] of cases) {
    t.is(encodeFastOne(v), undefined, `${what}: not the fast path`);
    t.is(encodeFastList([v]), undefined, `${what}: not the fast path as an argument`);
    t.deepEqual(shape(await deferToThread(identity, v)), shape(v8RoundTrip(v)), `${what}: arrives as v8 makes it`);
  }
  const [a, b] = await deferToThread(identity, [shared, shared]) as [unknown, unknown];
  t.is(a, b, 'an object met twice stays one object');
  const back = await deferToThread(identity, cycle) as Record<string, unknown>;
  t.is(back.self, back, 'a cycle stays a cycle');
  t.is((await deferToThread(identity, match) as RegExpMatchArray).index, 1, 'a match keeps its index');
  t.deepEqual(Object.getOwnPropertyDescriptor(await deferToThread(identity, withProto), '__proto__')?.value, { polluted: true });
});

test('objects v8 refuses are refused as before, not copied by the fast path', async (t) => {
  const proxy = new Proxy({ a: 1 }, {});
  const args = (function argumentsObject(..._: unknown[]) { return arguments; })(1, 2);  // eslint-disable-line prefer-rest-params
  for (const [what, v] of [['a Proxy', proxy], ['arguments', args], ['process.env', process.env]] as const) {
    t.is(encodeFastOne({ v }), undefined, `${what}: not the fast path`);
    await t.throwsAsync(deferToThread(identity, { v }), { name: 'ValueNotCloneableError' }, `${what}: refused`);
  }
});

test('a getter that calls a thread while its object is encoded leaves the outer encoding whole', async (t) => {
  let inner: Promise<unknown> | undefined;
  const v = {
    before: [1, 2],
    get during() {
      inner = deferToThread(identity, { inner: ['nested', { deep: true }] });
      // (An encoding made meanwhile, as a getter could, directly.)
      encodeFastOne({ scratch: 'x'.repeat(100) });
      return 'read once';
    },
    after: { z: 'end' },
  };
  const back = await deferToThread(identity, v);
  t.deepEqual(back, { before: [1, 2], during: 'read once', after: { z: 'end' } });
  t.deepEqual(await inner, { inner: ['nested', { deep: true }] });
});

test('a decoded object defines its keys, as v8 does, where Object.prototype holds them read-only', (t) => {
  // (Synchronous, and undone before it returns: no other test sees it.)
  Object.defineProperty(Object.prototype, 'rtReadOnly', { value: 'proto', writable: false, configurable: true });
  try {
    const rows = [{ rtReadOnly: 'own', constructor: 'Widget' }, { rtReadOnly: 'own 2', constructor: 'Gadget' }];
    const back = decodeFast(Buffer.from(encodeFastOne(rows)!)) as Record<string, unknown>[];
    // (The second row names its keys by the first's shape.)
    for (const [i, row] of back.entries()) {
      t.true(Object.hasOwn(row, 'rtReadOnly'));
      t.is(row.rtReadOnly, rows[i]!.rtReadOnly);
      t.is(row['constructor'] as unknown, rows[i]!.constructor);
    }
  } finally {
    delete (Object.prototype as Record<string, unknown>).rtReadOnly;
  }
});

test('an inherited index does not hide a hole from the fast path', (t) => {
  (Array.prototype as unknown[])[1] = 'inherited';
  try {
    t.is(encodeFastOne(Object.assign([1, , 3], { label: 'x' })), undefined);
    t.is(encodeFastOne([1, , 3]), undefined);
  } finally {
    delete (Array.prototype as unknown[])[1];
  }
});

test('getters: one that throws is refused as on the v8 path, one that deletes a later key leaves it out', async (t) => {
  let reads = 0;
  const throwsOnce = { get a() { if (reads++ === 0) throw new Error('first read'); return 'second read'; } };
  await t.throwsAsync(deferToThread(identity, throwsOnce), { message: /first read/ });
  const thrown = await deferToThread(() => {
    let n = 0;
    return { get a() { if (n++ === 0) throw new Error('first read in the thread'); return 'second read'; } };
  }).then(() => 'resolved', (e: Error) => e.message);
  t.regex(thrown, /first read in the thread/);
  const deletes: Record<string, unknown> = { get a() { delete deletes.b; return 1; }, b: 2, c: 3 };
  const back = await deferToThread(identity, deletes) as Record<string, unknown>;
  t.deepEqual(Object.keys(back), ['a', 'c']);
});

test('Dates take the fast path, invalid and extreme ones too; one met twice, a subclass, a fake or one with own properties leave it', (t) => {
  const dated = [
    { id: 1, at: new Date(0) }, { id: 2, at: new Date(NaN) }, { id: 3, at: new Date(8.64e15) }, { id: 4, at: new Date(-8.64e15) },
  ];
  const patched = new Date(7);
  // (v8 reads the date's own time value, not getTime. Non-enumerable: an enumerable one is a property the walk refuses.)
  Object.defineProperty(patched, 'getTime', { value: () => 99 });
  for (const v of [dated, patched, new Date(1.5)]) {
    const one = encodeFastOne(v);
    t.truthy(one, 'the fast path');
    t.deepEqual(decodeFast(Buffer.from(one!)), v8RoundTrip(v));
  }
  const date = new Date(3);
  class Stamp extends Date {}
  // (Both formats would drop its properties: the v8 path's walk refuses it.)
  const noted = Object.assign(new Date(5), { note: 'x' });
  for (const [what, v] of [['one date twice', [date, { date }]], ['a subclass', [new Stamp(1)]], ['a fake', [Object.create(Date.prototype)]],
    ['own properties', [noted]]] as const) {
    t.is(encodeFastOne(v), undefined, what);
  }
});

/** `v` as a tree in which an object met again is named by when it was first met: what shape() does not compare. */
function sharing(v: unknown, seen = new Map<object, number>()): unknown {
  if (typeof v !== 'object' || v === null) return Object.is(v, -0) ? '-0' : v;
  const at = seen.get(v);
  if (at !== undefined) return ['again', at];
  seen.set(v, seen.size);
  if (v instanceof Date) return ['date', Object.getPrototypeOf(v) === Date.prototype, v.getTime()];
  if (Array.isArray(v)) return v.map((x) => sharing(x, seen));
  return Object.entries(v).map(([k, x]) => [k, sharing(x, seen)]);
}

test('a date met again keeps its identity, as on the v8 path (fast-check over a few shared dates)', (t) => {
  const dates = [new Date(0), new Date(NaN), new Date(8.64e15)];
  const tree = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.constantFrom(...dates), fc.date(), tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 5 }),
    object: fc.dictionary(fc.constantFrom('a', 'b', 'at'), tie('value'), { maxKeys: 3, noNullPrototype: true }),
  })).value;
  let fast = 0;
  fc.assert(fc.property(tree, (v) => {
    const enc = encodeFastOne(v);
    if (!enc) return true;
    fast++;
    t.deepEqual(sharing(decodeFast(Buffer.from(enc))), sharing(v8RoundTrip(v)));
    return true;
  }), { numRuns: 1_000 });
  t.true(fast > 100, `${fast} of 1,000 took the fast path`);
});

test('dates decode as the built-in Date while the global one is replaced, and not by a getTime patched before load', (t) => {
  const bytes = Buffer.from(encodeFastOne([new Date(5)])!);
  const Builtin = Date;
  // As test runners' fake timers do (synchronously, and undone before it returns).
  globalThis.Date = class ClockDate extends Builtin {} as DateConstructor;
  try {
    const [back] = decodeFast(bytes) as [Date];
    t.is(Object.getPrototypeOf(back), Builtin.prototype);
    t.is(back.getTime(), 5);
    t.is(encodeFastOne([new Date(1)]), undefined, 'an instance of the replacement is a subclass: the v8 path');
  } finally {
    globalThis.Date = Builtin;
  }
  const codec = pathToFileURL(join(__dirname, '../dist/codec/fast-codec.js')).href;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
    const builtin = Date.prototype.getTime;
    Date.prototype.getTime = function () { return builtin.call(this) + 1000; };
    const { encodeFastOne } = await import(${JSON.stringify(codec)});
    console.log(encodeFastOne({ at: new Date(0) }) === undefined ? 'v8 path' : 'fast path');
  `], { encoding: 'utf8' });
  t.is(out.trim(), 'v8 path', 'getTime patched before the codec loaded: dates take the v8 path, which reads the time value itself');
});

test('an array item\'s getter runs once on the fast path, and what it gave first crosses', (t) => {
  for (const rest of [[], [{ more: 1 }], [2, 3]]) {
    let reads = 0;
    const a: unknown[] = [];
    Object.defineProperty(a, 0, { get() { reads++; return reads === 1 ? { first: true } : 'later'; }, enumerable: true, configurable: true });
    a.push(...rest);
    const one = encodeFastOne(a);
    t.truthy(one, 'the fast path');
    t.is(reads, 1, 'read once');
    t.deepEqual(decodeFast(Buffer.from(one!)), [{ first: true }, ...rest]);
  }
});

test('lists of records take the fast path, each row with its own keys in their order', (t) => {
  const rows = Array.from({ length: 1_000 }, (_, id) => ({ id, name: `row ${id}`, ok: id % 2 === 0, tags: ['a', 'b'] }));
  const mixed = [
    { a: 1, b: 2 }, { b: 3, a: 4 }, { a: 5, b: 6 }, { a: 7 }, { a: 8, b: 9, c: 10 }, { a: { a: { a: 1, b: 2 }, b: 3 }, b: [] },
    // Many shapes, then rows of the first and the last again.
    ...Array.from({ length: 25 }, (_, i) => ({ [`k${i}`]: i })), { k0: 'first again' }, { k24: 'last again' }, { a: 1, b: 2 },
  ];
  const nested = Array.from({ length: 40 }).reduce<unknown>((child, _, i) => ({ i, child, tag: `n${i}` }), { leaf: true });
  for (const v of [rows, mixed, nested]) {
    const one = encodeFastOne(v);
    t.truthy(one, 'the fast path');
    t.deepEqual(shape(decodeFast(Buffer.from(one!))), shape(v8RoundTrip(v)));
  }
});

// Trees whose objects draw their keys from a few names, so that their
// shapes repeat, some in another order (and some held by Object.prototype).
const recordTree = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string(), fc.constant(null), fc.constant(undefined), fc.date(), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 8 }),
  object: fc.dictionary(fc.constantFrom('id', 'name', 'ok', 'é', 'constructor', '0'), tie('value'), { maxKeys: 4, noNullPrototype: true }),
})).value;

test('random trees of repeated shapes decode as v8 round-trips them (fast-check)', (t) => {
  fc.assert(fc.property(recordTree, (v) => {
    const enc = encodeFastOne(v);
    if (!enc) return typeof v === 'string';
    t.deepEqual(shape(decodeFast(Buffer.from(enc))), shape(v8RoundTrip(v)));
    return true;
  }), { numRuns: 1_000 });
  t.pass();
});

test('values past the fast path\'s limits take the v8 path and cross whole', async (t) => {
  const deep = Array.from({ length: 300 }).reduce<unknown>((child) => ({ child }), 'bottom');
  const pastLimits: [string, unknown][] = [
    ['records past the container limit', Array.from({ length: 9_000 }, (_, id) => ({ id, tags: ['a'] }))],
    ['records whose first row holds too many containers', Array.from({ length: 5_000 }, (_, id) => ({ id, t: [[1], [2], [3]] }))],
    ['a dictionary of many keys', Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`key${i}`, i]))],
    ['a long array of numbers', Array.from({ length: 1_000 }, (_, i) => i / 3)],
    ['nesting past the depth limit', deep],
  ];
  for (const [what, v] of pastLimits) {
    t.is(encodeFastOne(v), undefined, what);
    t.deepEqual(await deferToThread(identity, v), v, what);
  }
});
