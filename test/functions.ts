// How a function crosses threads: threadable, fromModule, built-ins passed
// directly, and the plain-function fallback with its free-variable check.
import test from 'ava';
import * as zlib from 'node:zlib';
import { join, sep } from 'node:path';
import { pbkdf2Sync } from 'node:crypto';
import { deferToThread, deferToThreadPool, fromModule, FunctionNotSendableError, reactor, threadable, ThreadPool } from 'reactor-threads';
import { anonymous, firstTwin, secondTwin } from './_fixtures/tasks.cjs';
import { fileURLOf, requireSpecifier } from '../dist/identity/specifiers.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';

test('a threadable function of an ES module runs with its module scope', async (t) => {
  const { triple } = await import('./_fixtures/tasks-esm.mjs');
  t.is(await deferToThread(triple, 5), 15);
});

test('two functions registered under one name in one module stay distinct', async (t) => {
  t.is(await deferToThread(firstTwin), 'first');
  t.is(await deferToThread(secondTwin), 'second');
});

test('an anonymous threadable is found by its order of registration', async (t) => {
  t.is(await deferToThread(anonymous, 4), 40);
});

test('fromModule runs an export of a relative module, resolved from the caller', async (t) => {
  const plain = fromModule<(x: number) => string>('./_fixtures/tasks-esm.mjs', 'plainExport');
  t.is(await deferToThread(plain, 7), 'plain:7');
});

test('a caller\'s file from the stack becomes a URL: a file: URL as it is, an absolute path of this platform (on Windows, a drive\'s or a UNC share\'s)', (t) => {
  t.is(fileURLOf('file:///srv/app/tasks.mjs'), 'file:///srv/app/tasks.mjs');
  for (const notAFile of ['node:internal/modules/cjs/loader', '[worker eval]', 'evalmachine.<anonymous>', 'tasks.js', '', undefined, null]) {
    t.is(fileURLOf(notAFile), undefined, String(notAFile));
  }
  if (process.platform === 'win32') {
    t.is(fileURLOf('C:\\app\\tasks.js'), 'file:///C:/app/tasks.js');
    t.is(fileURLOf('\\\\server\\share\\app\\tasks.js'), 'file://server/share/app/tasks.js');
  } else {
    t.is(fileURLOf('/srv/app/tasks.js'), 'file:///srv/app/tasks.js');
    // Not paths here: a Windows path's backslashes are a file name's characters.
    t.is(fileURLOf('\\\\server\\share\\app\\tasks.js'), undefined);
    t.is(fileURLOf('C:\\app\\tasks.js'), undefined);
  }
});

test('a relative require() of a TypeScript file is passed on as that file; on Windows written with backslashes too', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rt-require-'));
  try {
    writeFileSync(join(dir, 'tasks.ts'), 'export const x = 1;\n');
    const parent = pathToFileURL(join(dir, 'main.js')).href;
    t.is(requireSpecifier('./tasks.js', parent), join(dir, 'tasks.ts'));
    t.is(requireSpecifier('./tasks', parent), join(dir, 'tasks.ts'));
    t.is(requireSpecifier('lodash', parent), 'lodash');
    // A backslash is a separator on Windows only; elsewhere '.\\tasks.js' is a package's name.
    t.is(requireSpecifier('.\\tasks.js', parent), process.platform === 'win32' ? join(dir, 'tasks.ts') : '.\\tasks.js');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fromModule takes this platform\'s paths: absolute (on Windows with a drive letter), and relative with its separator', async (t) => {
  const absolute = fromModule<(x: number) => string>(join(__dirname, '_fixtures', 'tasks-esm.mjs'), 'plainExport');
  t.is(await deferToThread(absolute, 1), 'plain:1');
  // On Windows `.\_fixtures\tasks-esm.mjs`, as require() would take it.
  const relative = fromModule<(x: number) => string>(['.', '_fixtures', 'tasks-esm.mjs'].join(sep), 'plainExport');
  t.is(await deferToThread(relative, 2), 'plain:2');
});

test('fromModule runs an export of a built-in module', async (t) => {
  const deflate = fromModule<typeof zlib.deflateSync>('node:zlib', 'deflateSync');
  const out = await deferToThread(deflate, Buffer.from('hello hello hello'));
  t.is(zlib.inflateSync(out).toString(), 'hello hello hello');
});

test('fromModule rejects at the call when the module cannot be found, naming the path in the message', async (t) => {
  const missing = fromModule('./_fixtures/does-not-exist.mjs', 'f');
  const err = await t.throwsAsync(deferToThread(missing), { instanceOf: FunctionNotSendableError });
  t.true(err!.message.includes(`module not found: ${join(__dirname, '_fixtures', 'does-not-exist.mjs')}`), err!.message);
  t.is((err!.cause as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
});

test('fromModule rejects when its module fails to load, with the module\'s error in the message', async (t) => {
  const broken = fromModule('./_fixtures/throws-on-import.mjs', 'f');
  const err = await t.throwsAsync(deferToThread(broken), { instanceOf: FunctionNotSendableError });
  t.regex(err!.message, /throws-on-import\.mjs#f in the thread: RangeError: thrown at import$/);
  t.true(err!.cause instanceof RangeError);
});

test('fromModule rejects an export that is not a function', async (t) => {
  await t.throwsAsync(deferToThread(fromModule('node:zlib', 'constants')), { instanceOf: FunctionNotSendableError });
});

test('built-in functions passed directly are sent as module references', async (t) => {
  const out = await deferToThread(zlib.gzipSync, Buffer.from('abc'));
  t.is(zlib.gunzipSync(out).toString(), 'abc');
  const key = await deferToThread(pbkdf2Sync, 'secret', 'salt', 1000, 16, 'sha256');
  t.deepEqual(key, pbkdf2Sync('secret', 'salt', 1000, 16, 'sha256'));
});

test('a plain function that uses an outer variable is refused, naming it', async (t) => {
  const factor = 3;
  const err = await t.throwsAsync(deferToThread((x: number) => x * factor, 2), { instanceOf: FunctionNotSendableError });
  t.regex(err!.message, /'factor'/);
  t.regex(err!.message, /argument|threadable/);
});

// (This file runs as CommonJS: require and __dirname are its module's own.)
test('a plain function that uses its CommonJS module\'s require or __dirname is refused saying what to write instead', async (t) => {
  const err = await t.throwsAsync(deferToThread(() => (require('node:os') as typeof import('node:os')).cpus().length),
    { instanceOf: FunctionNotSendableError });
  t.regex(err!.message, /uses 'require' from outside its own body, which a thread cannot see \('require' is its CommonJS module's own: inside the function, load modules with await import\(\)/);
  const dir = await t.throwsAsync(deferToThread(() => __dirname), { instanceOf: FunctionNotSendableError });
  t.regex(dir!.message, /'__dirname' is its CommonJS module's own: .*pass the values of __dirname or __filename as arguments/);
  // Other outer names get no such note.
  const local = 2;
  const other = await t.throwsAsync(deferToThread(() => local), { instanceOf: FunctionNotSendableError });
  t.notRegex(other!.message, /CommonJS/);
});

test('a plain function that uses a global\'s name its module, or a scope around it, declares is refused naming it, not run against the global', async (t) => {
  const esm = await import('./_fixtures/shadowed-globals.mjs');
  const { hashes } = await import('./_fixtures/shadowed-globals-cjs.cjs');
  for (const [send, name] of [[esm.sendsModuleEscape, 'escape'], [esm.sendsParameterPerformance, 'performance'],
    [esm.sendsBlockURL, 'URL'], [hashes, 'crypto']] as const) {
    const err = await t.throwsAsync(send(), { instanceOf: FunctionNotSendableError });
    t.regex(err!.message, new RegExp(`uses '${name}' as a name that its module or a scope around it declares, where a thread would see the global`));
  }
  // Asked again from the same place (its answer kept): refused again.
  await t.throwsAsync(esm.sendsModuleEscape(), { instanceOf: FunctionNotSendableError, message: /'escape'/ });
  // Globals that nothing around the function declares are the thread's own.
  t.is(await esm.sendsGlobalsOnly(), 'a%20b2');
  // Nor do imports of the globals themselves under their names (import process from 'node:process').
  t.is(await esm.sendsImportedGlobals(), 3);
  // One text sent through one helper from two modules, one declaring the
  // name and one not, is told apart by where the helper was called from.
  await t.throwsAsync(esm.viaHelperShadowed(), { instanceOf: FunctionNotSendableError, message: /'crypto'/ });
  const { viaHelperGlobal } = await import('./_fixtures/global-crypto.mjs');
  t.regex(await viaHelperGlobal(), /^[0-9a-f-]{36}$/);
});

test('a plain function that calls eval() directly is refused saying so: the eval sees names around it, which a thread cannot', async (t) => {
  const err = await t.throwsAsync(deferToThread((s: string) => eval(s) as unknown, '1 + 1'), { instanceOf: FunctionNotSendableError });
  t.regex(err!.message, /calls eval\(\), which sees the names around it/);
  t.notRegex(err!.message, /from outside its own body/);
  // (Before: one whose own names were all globals ran, and its eval of a module's name failed or read the thread's global.)
  const local = 3;
  await t.throwsAsync(deferToThread(() => eval('local') as number), { instanceOf: FunctionNotSendableError, message: /calls eval\(\)/ });
  t.is(local, 3);
  // (An indirect eval sees only globals, as in the thread.)
  t.is(await deferToThread(() => (0, eval)('1 + 1') as number), 2);
});

/** esbuild's keepNames helper, as tsx defines it atop each module it compiles (test/typescript-loaders.ts runs tsx itself). */
const __name = <T extends object>(target: T, value: string): T => Object.defineProperty(target, 'name', { value, configurable: true });

test('a plain function that names its functions through esbuild\'s __name helper runs, the names kept; __name used any other way is refused', async (t) => {
  t.deepEqual(await deferToThread((n: number) => {
    function twice(x: number): number { return x * 2; }
    __name(twice, 'twice');
    const one = __name(() => 1, 'one');
    return [twice(n) + one(), twice.name, one.name];
  }, 4), [9, 'twice', 'one']);
  // Any other use needs the module's own __name, which the thread has not.
  await t.throwsAsync(deferToThread(() => typeof __name), { instanceOf: FunctionNotSendableError, message: /'__name'/ });
  await t.throwsAsync(deferToThread((s: string) => __name(() => 1, s).name, 'x'), { instanceOf: FunctionNotSendableError, message: /'__name'/ });
  {
    // A __name of the application's own, called in the helper's shape, is its own (helper-146: the thread's ran instead).
    const __name = (key: string, label: string): string => `${label}:${key}`;
    t.is(__name('a', 'item'), 'item:a');
    await t.throwsAsync(deferToThread((k: string) => __name(k, 'item'), 'a'), { instanceOf: FunctionNotSendableError, message: /'__name'/ });
  }
});

test('functions two modules register through a helper module are each found as their own module\'s', async (t) => {
  const y = await import('./_fixtures/registered-y.mjs');
  const x = await import('./_fixtures/registered-x.mjs');
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  t.teardown(() => pool.stop());
  // (Before: both were registered as the helper's `task` and `task#2`, numbered in the order a thread imported
  // the two modules: the thread could not find them, or ran one as the other.)
  t.is(await deferToThreadPool(reactor, pool, y.direct), 'Y direct');
  t.is(await deferToThreadPool(reactor, pool, x.task, 1), 'X:1');
  t.is(await deferToThreadPool(reactor, pool, y.task, 1), 'Y:1');
});

test('a function two modules register through a helper leaves each module\'s own numbering as it is in every thread', async (t) => {
  // (y first here; a thread imports x first.)
  const y = await import('./_fixtures/registered-y.mjs');
  const x = await import('./_fixtures/registered-x.mjs');
  t.is(x.sharedHere, y.sharedHere);
  const pool = new ThreadPool({ maxThreads: 1 });
  pool.start();
  t.teardown(() => pool.stop());
  // (Before: the shared function took no place in x, whose own anonymous function was then numbered 1 here and 2 in the thread.)
  t.is(await deferToThreadPool(reactor, pool, x.ownAnonymous), 'X anonymous');
  t.is(await deferToThreadPool(reactor, pool, y.ownAnonymous), 'Y anonymous');
  t.is(await deferToThreadPool(reactor, pool, x.sharedHere), 'shared');
});

test('a module that registers through a helper after a top-level await registers as itself', async (t) => {
  const { late } = await import('./_fixtures/registered-late.mjs');
  // (Before: registered as the helper's, which a thread imports without registering anything.)
  t.is(await deferToThread(late, 1), 'late:1');
});

test('a sloppy CommonJS file\'s functions run as strictly as where they stand: a class body and a function\'s directive are strict', async (t) => {
  const dir = mkdtempSync(join(__dirname, '_fixtures', 'rt-sloppy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sloppy.cjs');
  // The same texts stand twice, sloppy first: V8's location of each function tells them apart.
  writeFileSync(file, [
    "const { deferToThread } = require('reactor-threads');",
    'const kind = () => (function () { return typeof this; })();',
    'class Job { arrow() { return () => (function () { return typeof this; })(); } }',
    'function strictOne() {',
    "  'use strict';",
    "  return (o) => { Object.freeze(o); try { o.x = 1; return 'ignored'; } catch (e) { return e.name; } };",
    '}',
    "const sloppyOne = (o) => { Object.freeze(o); try { o.x = 1; return 'ignored'; } catch (e) { return e.name; } };",
    'module.exports = async () => {',
    '  const out = [];',
    '  for (const [f, arg] of [[kind], [new Job().arrow()], [strictOne(), {}], [sloppyOne, {}]]) {',
    "    out.push(`${f(arg)}/${await deferToThread(f, arg)}`);",
    '  }',
    '  return out;',
    '};',
  ].join('\n'));
  const run = require(file) as () => Promise<string[]>;
  // (Before: each ran sloppy in the thread.)
  t.deepEqual(await run(), ['object/object', 'undefined/undefined', 'TypeError/TypeError', 'ignored/ignored']);
});

test('a plain function runs as strict in the thread as where it was defined', async (t) => {
  const frozenWrite = (o: { x?: number }): string => {
    Object.freeze(o);
    try {
      o.x = 1;
      return 'ignored';
    } catch (e) {
      return (e as Error).name;
    }
  };
  // (This module is an ES module: strict. Before: the thread ran it sloppy, and ignored the write.)
  t.is(frozenWrite({}), 'TypeError');
  t.is(await deferToThread(frozenWrite, {}), 'TypeError');
  // A sloppy function stays sloppy: its arguments alias its parameters.
  const sloppy = new Function('a', 'arguments[0] = 2; return a;') as (a: number) => number;
  t.is(sloppy(1), 2);
  t.is(await deferToThread(sloppy, 1), 2);
  const strict = new Function('a', '"use strict"; arguments[0] = 2; return a;') as (a: number) => number;
  t.is(await deferToThread(strict, 1), 1);
});

test('a plain function that uses this from outside is refused', async (t) => {
  const obj = { k: 2, times(x: number): number { return x * this.k; } };
  await t.throwsAsync(deferToThread(obj.times, 2), { instanceOf: FunctionNotSendableError, message: /this/ });
});

test('a bound function is refused up front', async (t) => {
  const bound = function f(this: unknown, x: number): number { return x; }.bind(null);
  await t.throwsAsync(deferToThread(bound, 1), { instanceOf: FunctionNotSendableError, message: /bound/ });
});

test('a bound anonymous function is refused with a label, not its empty name', async (t) => {
  const bound = ((x: number): number => x).bind(null);
  const err = await t.throwsAsync(deferToThread(bound, 1), { instanceOf: FunctionNotSendableError });
  t.regex(err!.message, /^bound anonymous function /);
});

test('a native function that is no module export is refused', async (t) => {
  await t.throwsAsync(deferToThread(Math.max, 1, 2), { instanceOf: FunctionNotSendableError, message: /native/ });
});

test('a value that is not a function is refused with a rejection, not a throw', async (t) => {
  const p = (deferToThread as (f: unknown) => Promise<unknown>)(42);
  await t.throwsAsync(p, { instanceOf: FunctionNotSendableError, message: /number/ });
});

test('a method shorthand without this runs', async (t) => {
  const helpers = { double(x: number): number { return x * 2; } };
  t.is(await deferToThread(helpers.double, 21), 42);
});

test('globals and locals of the function itself are fine', async (t) => {
  const f = (s: string): number => { const parts = s.split(','); return Math.max(...parts.map(Number)); };
  t.is(await deferToThread(f, '1,9,3'), 9);
});

test('threadable refuses what is not a function, at the call', (t) => {
  t.throws(() => threadable(5 as never), { instanceOf: TypeError });
});

// A generator would run, and only then fail on its result (an iterator):
// refused before it runs, with what to do instead.
test('a generator function is refused up front, sync or async, with what to do instead', async (t) => {
  for (const g of [function* gen(): Generator<number> { yield 1; }, async function* agen(): AsyncGenerator<number> { yield 1; }]) {
    const err = await t.throwsAsync(deferToThread(g as () => unknown), { instanceOf: FunctionNotSendableError });
    t.regex(err!.message, new RegExp(`${g.name} is a generator function: its result, an iterator, cannot cross threads`));
    t.regex(err!.message, /return an array .*call it for each item/);
  }
  const method = { *items(): Generator<number> { yield 1; } };
  await t.throwsAsync(deferToThread(method.items), { instanceOf: FunctionNotSendableError, message: /generator/ });
});

test('threadable refuses a generator function at once', (t) => {
  t.throws(() => threadable(function* gen(): Generator<number> { yield 1; }),
    { instanceOf: FunctionNotSendableError, message: /gen is a generator function/ });
  t.throws(() => threadable('named', async function* (): AsyncGenerator<number> { yield 1; }),
    { instanceOf: FunctionNotSendableError, message: /named is a generator function/ });
});

test('a generator exported by a module is refused by the thread that loads it, before it runs', async (t) => {
  const countUp = fromModule<(n: number) => unknown>('./_fixtures/tasks-esm.mjs', 'countUp');
  await t.throwsAsync(deferToThread(countUp, 3),
    { instanceOf: FunctionNotSendableError, message: /tasks-esm\.mjs#countUp is a generator function/ });
});

test('threadable returns the function unchanged', (t) => {
  const f = function localName(): number { return 1; };
  t.is(threadable(f), f);
});

test('fresh inline functions with one source are defined once per pool and compiled once in its thread', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1 });
  t.teardown(() => pool.stop());
  pool.start();
  const runs: number[] = [];
  for (let i = 0; i < 20; i++) {
    t.is(await deferToThreadPool(reactor, pool, (x: number) => x + 1, i), i + 1);
    // A named function expression sees itself: the count it keeps on
    // itself grows only if the thread reuses one compiled function.
    runs.push(await deferToThreadPool(reactor, pool, function counted(): number {
      const self = counted as unknown as { n?: number };
      self.n = (self.n ?? 0) + 1;
      return self.n;
    }));
  }
  t.is(pool.stats().functions, 2, 'one descriptor per distinct source');
  t.deepEqual(runs, Array.from({ length: 20 }, (_, i) => i + 1), 'the thread compiled `counted` once');
  await pool.stop();
});
