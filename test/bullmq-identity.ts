// How functions, modules and values are named for another machine
// (src/bullmq/portable.ts, remote-functions.ts, remote-codec.ts), without
// a queue: portable module names and their resolution under another root,
// the allow list, which functions may cross, and the wire format's
// versions and refusals.
import test from 'ava';
import { cpSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serialize } from 'node:v8';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import {
  fromModule, FunctionNotSendableError, ModuleNotAllowedError, PayloadTooLargeError, UnreadablePayloadError, ValueNotCloneableError,
} from 'reactor-threads';
import { AllowList, keyToPortable, PortableResolver, toPortable } from '../dist/bullmq/portable.js';
import { localFunction, portableFunction } from '../dist/bullmq/remote-functions.js';
import {
  checkVersion, decodeFailure, decodeRemote, decodeResult, encodeFailure, encodeRemote, failureData, failureReason, jsonText,
} from '../dist/bullmq/remote-codec.js';
import { callerRoot } from './_helpers/bullmq-workers.js';
import { encodeThrow } from '../dist/errors/errors.js';
import { add, Point, Refused } from './_fixtures/bullmq/tasks.cjs';

const tasksURL = pathToFileURL(join(callerRoot, 'tasks.cjs')).href;
const elsewhere = join(mkdtempSync(join(tmpdir(), 'rt-identity-')), 'app');
mkdirSync(join(elsewhere, 'node_modules', 'some-lib'), { recursive: true });
cpSync(join(callerRoot, 'tasks.cjs'), join(elsewhere, 'tasks.cjs'));
symlinkSync(join(__dirname, '..'), join(elsewhere, 'node_modules', 'reactor-threads'), 'dir');

test('a module is named by its path under the app root, a package file by its package, a built-in as node:', (t) => {
  t.is(toPortable(tasksURL, callerRoot), 'app:tasks.cjs');
  t.is(toPortable(tasksURL, join(callerRoot, '..')), 'app:bullmq/tasks.cjs');
  t.is(toPortable('node:zlib', callerRoot), 'node:zlib');
  const inPackage = pathToFileURL(join(callerRoot, 'node_modules', '@scope', 'lib', 'dist', 'x.js')).href;
  t.is(toPortable(inPackage, callerRoot), 'pkg:@scope/lib/dist/x.js');
  t.is(toPortable(`bare:${tasksURL}|lodash/fp`, callerRoot), 'spec:lodash/fp');
  t.is(toPortable(`bare:${tasksURL}|zlib`, callerRoot), 'node:zlib');
});

test('a module outside the app root, or not on disk, has no portable name', (t) => {
  const outside = t.throws(() => toPortable(tasksURL, join(callerRoot, 'sub')), { instanceOf: FunctionNotSendableError });
  t.regex(outside!.message, /outside the app root .*set the pool's root option/);
  t.throws(() => toPortable('data:text/javascript,export default 1', callerRoot), { instanceOf: FunctionNotSendableError });
});

test('a worker finds a portable module under its own root, and never outside it', (t) => {
  const local = new PortableResolver(elsewhere);
  t.is(local.url('app:tasks.cjs'), pathToFileURL(join(elsewhere, 'tasks.cjs')).href);
  t.is(local.url('node:zlib'), 'node:zlib');
  t.is(local.url('spec:lodash/fp'), `bare:${pathToFileURL(`${elsewhere}/`).href}|lodash/fp`);
  t.throws(() => local.url('app:../etc/passwd'), { instanceOf: ModuleNotAllowedError, message: /climbs out of the app root/ });
  t.throws(() => local.url('pkg:not-installed/x.js'), { instanceOf: ModuleNotAllowedError, message: /not installed/ });
  t.throws(() => local.url('pkg:some-lib/../../x.js'), { instanceOf: ModuleNotAllowedError });
  t.throws(() => local.url('http://example.com/x.js'), { instanceOf: ModuleNotAllowedError });
  // A specifier is resolved by Node as a URL under its package: '..' (or '%2e%2e') would leave it for any
  // installed package or file (with allow: ['lodash'], spec:lodash/../cross-spawn/index.js ran commands).
  for (const escape of ['spec:lodash/../cross-spawn/index.js', 'spec:lodash/%2e%2e/cross-spawn/index.js', 'spec:lodash/./../x.js',
    'spec:@scope/lib/../../x.js', 'spec:lodash//x', 'app:lib\\..\\..\\x.js', 'pkg:some-lib/..\\..\\x.js', 'pkg:@scope/../x.js']) {
    t.throws(() => local.url(escape), { instanceOf: ModuleNotAllowedError }, escape);
  }
  t.throws(() => localFunction({ k: 'e', m: 'spec:lodash/../cross-spawn/index.js', n: 'sync' }, 'sync',
    new AllowList(['lodash'], elsewhere), local), { instanceOf: ModuleNotAllowedError });
});

test('the allow list admits files, folders, packages and built-ins it names, and refuses the rest', (t) => {
  const allow = new AllowList(['./tasks.cjs', './lib/', 'lodash', '@scope/lib', 'zlib', 'node:crypto'], callerRoot);
  for (const ok of ['app:tasks.cjs', 'app:lib/a.js', 'app:lib/deep/b.js', 'pkg:lodash/fp.js', 'spec:lodash/fp',
    'pkg:@scope/lib/x.js', 'node:zlib', 'node:crypto']) {
    t.notThrows(() => allow.check(ok), ok);
  }
  for (const refused of ['app:other.cjs', 'app:libx/a.js', 'pkg:lodash-es/x.js', 'spec:@scope/other', 'node:child_process',
    'node:fs', 'spec:child_process']) {
    const err = t.throws(() => allow.check(refused), { instanceOf: ModuleNotAllowedError }, refused);
    t.is(err!.module, refused);
  }
  t.throws(() => new AllowList(['../outside.js'], callerRoot), { instanceOf: RangeError });
  t.throws(() => new AllowList('./tasks.cjs' as unknown as string[], callerRoot), { instanceOf: TypeError });
});

test('the allow list refuses a file in an allowed package\'s own node_modules: another package it does not name', (t) => {
  // (With allow: ['allowedpkg'], pkg:allowedpkg/node_modules/nested/index.js loaded nested, which no one allowed.)
  const allow = new AllowList(['lodash', '@scope/lib'], callerRoot);
  for (const nested of ['pkg:lodash/node_modules/other/index.js', 'spec:lodash/node_modules/other', 'pkg:@scope/lib/node_modules/x/a.js',
    'spec:@scope/lib/dist/node_modules/x', 'pkg:lodash/Node_Modules/other/index.js']) {
    const err = t.throws(() => allow.check(nested), { instanceOf: ModuleNotAllowedError }, nested);
    t.is(err!.module, nested);
    t.regex(err!.message, /node_modules/);
  }
  t.notThrows(() => allow.check('pkg:lodash/node_modulesx/a.js'));
});

test('threadables and module exports cross by name; plain functions never do', (t) => {
  t.deepEqual(portableFunction(add, callerRoot), { fn: { k: 't', m: 'app:tasks.cjs', n: 'add' }, label: 'add' });
  t.deepEqual(portableFunction(zlib.deflateSync, callerRoot).fn, { k: 'e', m: 'node:zlib', n: 'deflateSync' });
  t.deepEqual(portableFunction(fromModule('./_fixtures/bullmq/tasks.cjs', 'plainExport'), callerRoot).fn,
    { k: 'e', m: 'app:tasks.cjs', n: 'plainExport' });
  const err = t.throws(() => portableFunction((x: number) => x, callerRoot), { instanceOf: FunctionNotSendableError });
  t.regex(err!.message, /cannot be sent to a remote pool/);
});

test('a worker turns a portable function into its own descriptor only when its module is allowed', (t) => {
  const local = new PortableResolver(elsewhere);
  const allow = new AllowList(['./tasks.cjs'], elsewhere);
  const url = pathToFileURL(join(elsewhere, 'tasks.cjs')).href;
  t.deepEqual(localFunction({ k: 't', m: 'app:tasks.cjs', n: 'add' }, 'add', allow, local),
    { kind: 'threadable', url, key: `${url}#add`, label: 'add' });
  t.throws(() => localFunction({ k: 'e', m: 'node:child_process', n: 'execSync' }, 'execSync', allow, local),
    { instanceOf: ModuleNotAllowedError });
  t.throws(() => localFunction({ k: 'x', m: 'app:tasks.cjs', n: 'add' } as never, 'add', allow, local),
    { instanceOf: FunctionNotSendableError });
});

test('values round-trip with the same refusals as between threads, and registered classes keep their class', (t) => {
  const toWire = (key: string): string => keyToPortable(key, callerRoot);
  const local = new PortableResolver(callerRoot);
  const value = [new Point(1, 2), new Map([[1n, new Date(0)]]), new Uint16Array([7]), new Refused('no')];
  const encoded = encodeRemote(value, 'args', false, toWire, 1 << 20, 'the arguments');
  t.true(encoded.markers);
  const back = decodeRemote(encoded, (key) => local.key(key), 'Node test') as unknown[];
  t.true(back[0] instanceof Point);
  t.deepEqual(back[1], new Map([[1n, new Date(0)]]));
  t.deepEqual(back[2], new Uint16Array([7]));
  t.true(back[3] instanceof Refused);
  t.is((back[3] as Refused).code, 'E_REFUSED');
  const url = t.throws(() => encodeRemote([{ at: new URL('http://x') }], 'args', false, toWire, 1 << 20, 'the arguments'),
    { instanceOf: ValueNotCloneableError });
  t.is(url!.path, 'args[0].at');
  const fn = t.throws(() => encodeRemote([[() => 1]], 'args', false, toWire, 1 << 20, 'the arguments'), { instanceOf: ValueNotCloneableError });
  t.is(fn!.path, 'args[0][0]');
  const shared = t.throws(() => encodeRemote([{ counts: new Int32Array(new SharedArrayBuffer(8)) }], 'args', false, toWire,
    1 << 20, 'the arguments'), { instanceOf: ValueNotCloneableError });
  t.is(shared!.path, 'args[0].counts');
  t.regex(shared!.message, /shared memory .* cannot be shared with another machine/);
  let deep: object = { counts: new Int32Array(new SharedArrayBuffer(8)) };
  for (let i = 0; i < 80; i++) deep = { next: deep };
  const deeper = t.throws(() => encodeRemote([deep], 'args', false, toWire, 1 << 20, 'the arguments'),
    { instanceOf: ValueNotCloneableError }, 'shared memory past the walk\'s depth went to another machine as a copy');
  t.regex(deeper!.message, /shared memory/);
  const big = t.throws(() => encodeRemote(['z'.repeat(1000)], 'args', false, toWire, 500, 'the arguments'), { instanceOf: PayloadTooLargeError });
  t.is(big!.limit, 500);
  // A copied array's properties beside its items ride in a marker of their own, whose classes are
  // named portably too (helper-154: they kept the sender's file: key).
  const beside = Object.assign([new Point(3, 4)], { origin: new Point(0, 0) });
  const seen: string[] = [];
  const besideBack = decodeRemote(encodeRemote([beside], 'args', false, toWire, 1 << 20, 'the arguments'),
    (key) => { seen.push(key); return local.key(key); }, 'Node test') as (Point[] & { origin?: Point })[];
  t.deepEqual(seen, ['app:tasks.cjs#Point', 'app:tasks.cjs#Point']);
  t.true(besideBack[0]![0] instanceof Point);
  t.true(besideBack[0]!.origin instanceof Point);
});

// (A job's bytes are anyone's: 30 of them made an array of length 2 ** 32 - 1 that the
// worker's thread counted through, for minutes: helper-154. The suite's timeout tells.)
test('a sparse array of a value from another machine is read by its items, not counted to its length', (t) => {
  const sparse: unknown[] = [];
  const marked = (value: unknown): { data: string; markers: boolean } => ({ data: serialize(value).toString('base64'), markers: true });
  const error = { __reactorThreads: { k: 'error', error: encodeThrow(new Error('far')) } };
  sparse[2 ** 32 - 2] = error;
  const back = decodeRemote(marked([sparse]), (key) => key, 'Node test') as unknown[][];
  t.is(back[0]!.length, 2 ** 32 - 1);
  t.true(back[0]![2 ** 32 - 2] instanceof Error);
  const inMarker = decodeRemote(marked([{ __reactorThreads: { k: 'array', items: sparse, props: { tag: 1 } } }]), (key) => key, 'Node test') as
    (unknown[] & { tag?: number })[];
  t.is(inMarker[0]!.tag, 1);
  t.true(inMarker[0]![2 ** 32 - 2] instanceof Error);
});

// Between threads a fromModule() reference crosses as itself; a worker
// must import only what its allow list names, so none crosses machines.
test('a symbol-keyed property and a fromModule() reference are refused as values for another machine, and none is read from one', (t) => {
  const key = (k: string): string => k;
  const tagged = t.throws(() => encodeRemote([{ rows: [{ [Symbol('tag')]: 1 }] }], 'args', false, key, 1 << 20, 'the arguments'),
    { instanceOf: ValueNotCloneableError });
  t.is(tagged!.path, 'args[0].rows[0]');
  t.regex(tagged!.message, /a symbol-keyed property \(Symbol\(tag\)\) cannot be copied/);
  const ref = t.throws(() => encodeRemote([{ f: fromModule('node:os', 'cpus') }], 'args', false, key, 1 << 20, 'the arguments'),
    { instanceOf: ValueNotCloneableError });
  t.is(ref!.path, 'args[0].f');
  t.regex(ref!.message, /a fromModule\(\) reference cannot cross to another machine/);
  const forged = serialize([{ __reactorThreads: { k: 'module', ref: { specifier: 'node:child_process', exportName: 'execSync' } } }]);
  t.throws(() => decodeRemote({ data: forged.toString('base64'), markers: true }, key, 'Node test'),
    { instanceOf: UnreadablePayloadError, message: /a fromModule\(\) reference arrived from another machine/ });
});

test('a malformed marker in a value from another machine is refused as unreadable, not as a TypeError', (t) => {
  const malformed = [
    { k: 'class', key: 5, props: {} }, { k: 'error', error: null }, { k: 'error', error: 7 }, { k: 'array', items: 5, props: {} },
    { k: 'shared', i: 0 }, { k: 42 },
  ];
  for (const m of malformed) {
    const data = serialize([{ __reactorThreads: m }]).toString('base64');
    const e = t.throws(() => decodeRemote({ data, markers: true }, (k) => k, 'Node test'), { instanceOf: UnreadablePayloadError },
      JSON.stringify(m));
    t.regex(e!.message, /written by Node test holds a marker/);
  }
  // A class that is not registered here is refused as between threads.
  const unknown = serialize([{ __reactorThreads: { k: 'class', key: 'file:///x.js#C', props: {} } }]).toString('base64');
  t.throws(() => decodeRemote({ data: unknown, markers: true }, (k) => k, 'Node test'), { instanceOf: ValueNotCloneableError });
});

test('a registered class\'s key is portable: the worker maps it to its own copy of the module', (t) => {
  const key = `${tasksURL}#Point`;
  t.is(keyToPortable(key, callerRoot), 'app:tasks.cjs#Point');
  t.is(new PortableResolver(elsewhere).key('app:tasks.cjs#Point'), `${pathToFileURL(join(elsewhere, 'tasks.cjs')).href}#Point`);
  t.is(keyToPortable('file:///nowhere/x.js#C', callerRoot), 'file:///nowhere/x.js#C', 'kept as it is when it has no portable name');
});

// (helper-160: a class of a module under a folder named with '#' was refused, its key cut at that '#'.)
test('a registered class\'s portable key whose module path holds a \'#\' maps back whole', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rt-hash-'));
  mkdirSync(join(root, 'c#lib'));
  const local = pathToFileURL(join(root, 'c#lib', 'cls.mjs')).href;
  t.regex(local, /c%23lib/);
  const resolver = new PortableResolver(root);
  t.is(resolver.key('app:c#lib/cls.mjs#Tag'), `${local}#Tag`);
  t.is(resolver.key('app:c#lib/cls.mjs#Tag#2'), `${local}#Tag#2`);
  // (A name may hold a '#' too.)
  t.is(resolver.key('app:plain.mjs#my#cls'), `${pathToFileURL(join(root, 'plain.mjs')).href}#my#cls`);
  t.is(keyToPortable(`${local}#Tag`, root), 'app:c#lib/cls.mjs#Tag');
});

test('a failure crosses in its reason: readable first line, then the encoded error with its class', (t) => {
  const reason = failureReason('Refused: no funds', encodeFailure(new Refused('no funds'), (k) => keyToPortable(k, callerRoot),
    'refuse() in thread 1 of worker w'));
  t.true(reason.startsWith('Refused: no funds\n--- reactor-threads failure, wire format 1 ---\n'));
  const err = decodeFailure(failureData(reason)!, (k) => new PortableResolver(callerRoot).key(k)) as Refused;
  t.true(err instanceof Refused);
  t.regex(err.stack!, /--- refuse\(\) in thread 1 of worker w ---$/);
  t.is(failureData('job stalled more than allowable limit'), undefined, 'a failure of the queue itself has none');
  t.throws(() => failureData('X\n--- reactor-threads failure, wire format 7 ---\nAAAA'), { instanceOf: UnreadablePayloadError,
    message: /format 7, later than/ });
});

test('payloads of a later format, or values a newer V8 wrote, are refused with an UnreadablePayloadError', (t) => {
  t.notThrows(() => checkVersion(1, 'the job'));
  t.notThrows(() => checkVersion(2, 'the job'));
  t.throws(() => checkVersion(3, 'the job'), { instanceOf: UnreadablePayloadError, message: /the job is in wire format 3, later than/ });
  t.throws(() => checkVersion(undefined, 'the job'), { instanceOf: UnreadablePayloadError, message: /not a reactor-threads payload/ });
  t.throws(() => checkVersion(0, 'the job'), { instanceOf: UnreadablePayloadError, message: /not a reactor-threads payload/ });
  t.throws(() => decodeResult({ v: 3, j: '1' }, (k) => k), { instanceOf: UnreadablePayloadError, message: /format 3, later than/ });
  // A V8 serializer header of a version far beyond any this Node writes.
  const future = serialize('x');
  future[1] = 0x7f;
  t.throws(() => decodeRemote({ data: future.toString('base64'), markers: false }, (k) => k, 'Node v99.0.0'),
    { instanceOf: UnreadablePayloadError, message: /written by Node v99\.0\.0 cannot be read by Node v/ });
});

test('a value or failure nested too deeply for this thread\'s stack is refused as not cloneable, not as another Node\'s', async (t) => {
  // (Written where the stack is larger, as a worker machine's pool thread's may be: 100,000 arrays
  // deep, which overflow a 4 MB stack, this test's thread's, on Node 20 to 26.)
  const writer = new Worker('const { serialize } = require("node:v8"); let v = 0; for (let i = 0; i < 100000; i++) v = [v];'
    + 'require("node:worker_threads").parentPort.postMessage(serialize(v).toString("base64"));',
  { eval: true, resourceLimits: { stackSizeMb: 64 } });
  const [data] = await once(writer, 'message') as [string];
  await writer.terminate();
  t.throws(() => decodeRemote({ data, markers: false }, (k) => k, 'the worker w1'), { instanceOf: ValueNotCloneableError,
    message: /^a value from another machine arrived nested too deeply to be read with this thread's stack .*: Maximum call stack size exceeded$/ });
  t.throws(() => decodeFailure(data, (k) => k), { instanceOf: ValueNotCloneableError, message: /^a failure from another machine arrived nested too deeply/ });
});

test('values JSON carries exactly cross as JSON text; any other is left to V8\'s serializer', (t) => {
  const exact: unknown[] = [[1, 2], ['é𝄞', '\ud800', true, null, 1.5e300, -7], [{ a: { b: [[], {}] }, c: 'x' }], [], [{ 'with space': 1, 0: 'an index-like key' }]];
  for (const value of exact) {
    const text = jsonText(value);
    t.is(typeof text, 'string', JSON.stringify(value));
    t.deepEqual(JSON.parse(text!), value);
  }
  const shared = { s: 1 };
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const sparse = [1, , 3];  // eslint-disable-line no-sparse-arrays
  const extra = Object.assign([1, 2], { tag: 'x' });
  let deep: unknown = 1;
  for (let i = 0; i < 40; i++) deep = [deep];
  const inexact: [string, unknown][] = [
    ['-0', [-0]], ['NaN', [NaN]], ['Infinity', [Infinity]], ['undefined', [undefined]], ['undefined property', [{ a: undefined }]],
    ['a bigint', [1n]], ['a shared object', [shared, shared]], ['a cycle', [cyclic]], ['a sparse array', [sparse]],
    ['an array with a property', [extra]], ['a Date', [new Date(0)]], ['a Map', [new Map()]], ['a typed array', [new Uint8Array(1)]],
    ['an instance', [new Point(1, 2)]], ['a null-prototype object', [Object.create(null)]], ['an Error', [new Error('x')]],
    ['a function', [() => 1]], ['nesting beyond 32 levels', deep], ['over 2,000 parts', [Array.from({ length: 3000 }, () => 0)]],
    ['an object with toJSON', [{ toJSON: () => 1 }]], ['a symbol-keyed property', [{ a: 1, [Symbol('s')]: 2 }]],
    ['an array with a symbol-keyed property', [Object.assign([1], { [Symbol('s')]: 2 })]],
    ['a fromModule() reference', [fromModule('node:os', 'cpus')]],
  ];
  for (const [what, value] of inexact) t.is(jsonText(value), undefined, what);
});

test('a result is read from its JSON text, its V8 payload (format 1 or 2), or is undefined (format 2)', (t) => {
  const key = (k: string): string => k;
  t.deepEqual(decodeResult(JSON.stringify({ v: 2, j: '{"a":[1,"x"]}' }), key), { a: [1, 'x'] });
  t.is(decodeResult({ v: 2 }, key), undefined);
  const v8 = encodeRemote(new Map([[1, -0]]), 'the result', false, key, 1 << 20, 'the result').data;
  t.deepEqual(decodeResult({ v: 1, r: v8, w: 'host pid 1' }, key), new Map([[1, -0]]));
  t.deepEqual(decodeResult({ v: 2, r: v8, w: 'host pid 1' }, key), new Map([[1, -0]]));
  t.throws(() => decodeResult({ v: 1 }, key), { instanceOf: UnreadablePayloadError, message: /carries no value/ });
  t.throws(() => decodeResult({ v: 2, j: '{' }, key), { instanceOf: UnreadablePayloadError, message: /JSON text cannot be read/ });
  t.throws(() => decodeResult('not json', key), { instanceOf: UnreadablePayloadError, message: /not JSON/ });
});
