// What each pool thread imports before its first task (src/pool/preloads.ts):
// the loaders found in this process's options, the versions of Node on
// which tsx needs a thread to register it, and the `preload` option.
// End to end, with tsx and Node's type stripping: test/typescript-loaders.ts.
import test from 'ava';
import { deferToThreadPool, reactor, ThreadDiedError, ThreadPool } from 'reactor-threads';
import { tsxRegistersInThreads } from '../dist/pool/preloads.js';
import { nodeOptionsArgs, preloadedModules } from '../dist/identity/loaders.js';
import { join } from 'node:path';
import { within } from './_helpers/settlements.js';
import { symlinkedApp } from './_helpers/symlinked.js';
import { pathToFileURL } from 'node:url';
import { fixture, runChild } from './_helpers/child.js';
import { platformTimeout } from './_helpers/wait.js';

test('the loaders of execArgv are found in every spelling of their flags', (t) => {
  t.deepEqual(preloadedModules([
    '--import', 'tsx', '--require=./a.cjs', '-r', 'b', '--max-old-space-size=100', '--loader=c', '--experimental-loader', 'd', 'main.ts',
  ]), ['tsx', './a.cjs', 'b', 'c', 'd']);
});

test('NODE_OPTIONS is read as Node reads it: spaces separate, double quotes group', (t) => {
  t.deepEqual(nodeOptionsArgs('--import "a b.mjs"  -r x --require="c d" "e\\"f"'), ['--import', 'a b.mjs', '-r', 'x', '--require=c d', 'e"f']);
  t.deepEqual(nodeOptionsArgs(undefined), []);
});

test('tsx registers itself in threads from Node 22.22.3, 24.11.1 and 25.1; a thread registers it before those', (t) => {
  const own = ['22.22.3', '22.23.0', '24.11.1', '24.12.0', '25.1.0', '26.0.0', '27.3.1'];
  const needsHelp = ['20.11.0', '20.20.2', '21.7.3', '22.0.0', '22.22.2', '23.11.0', '24.0.0', '24.11.0', '25.0.9'];
  for (const v of own) t.true(tsxRegistersInThreads(v), v);
  for (const v of needsHelp) t.false(tsxRegistersInThreads(v), v);
});

test("a thread's process.execArgv is the pool's execArgv, without the library's own preload, so a process it forks does not load it", async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, execArgv: ['--no-deprecation'] });
  pool.start();
  const { execArgvHere } = await import('./_fixtures/tasks.cjs');
  const { thread, forked } = await deferToThreadPool(reactor, pool, execArgvHere);
  t.deepEqual(thread, ['--no-deprecation']);
  t.deepEqual(forked, ['--no-deprecation']);
  await pool.stop();
});

test("the thread's process.execArgv loses the library's preload also when the package is reached through a symlink under --preserve-symlinks", async (t) => {
  // The --preserve-symlinks flag keeps the link's path in __dirname, while
  // the thread, given execArgv (which replaces the process's flags in a
  // Worker; NODE_OPTIONS and NODE_PRESERVE_SYMLINKS would reach it), loads
  // starting.js by its real path.
  const dir = symlinkedApp(t, {
    'task.cjs': `const { threadable } = require('reactor-threads');
exports.argv = threadable(function argv() { return process.execArgv; });
`,
    'main.cjs': `const { ThreadPool, deferToThreadPool, reactor } = require('reactor-threads');
const { argv } = require('./task.cjs');
const pool = new ThreadPool({ maxThreads: 1, execArgv: ['--no-deprecation'] });
pool.start();
deferToThreadPool(reactor, pool, argv).then((a) => { console.log(JSON.stringify(a)); return pool.stop(); });
`,
  });
  if (!dir) return;
  const r = await runChild(join(dir, 'main.cjs'), [], platformTimeout(20_000), process.env, ['--preserve-symlinks']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), ['--no-deprecation']);
});

// A Worker runs its process's --require and --import preloads before its
// entry: the package, loaded there by one, had built the thread's runtime
// as a plain Worker's, and every pool thread failed to start.
for (const flag of ['--require', '--import']) {
  test(`a ${flag} preload that loads the package leaves pool threads serving, its functions and their calls to the owner included`, async (t) => {
    const preload = fixture('preload-registers.cjs');
    const r = await runChild(fixture('preload-app.cjs'), [], platformTimeout(20_000), process.env,
      [flag, flag === '--import' ? pathToFileURL(preload).href : preload]);
    t.is(r.code, 0, r.stderr);
    t.deepEqual(JSON.parse(r.stdout), {
      tripled: 6, plain: 2, askOwner: { servedOn: 'main', knowsTask: true }, both: [3, 6, 9, 12],
    });
  });
}

test('preload must be an array of specifiers', (t) => {
  t.throws(() => new ThreadPool({ preload: './x.mjs' as unknown as string[] }), { instanceOf: TypeError, message: /preload/ });
  t.throws(() => new ThreadPool({ preload: [''] }), { instanceOf: TypeError, message: /preload/ });
});

test('stop() ends a thread whose preload never finishes loading', async (t) => {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1, preload: ['./_fixtures/never-loads.mjs'] });
  pool.start();
  await new Promise((r) => setTimeout(r, 100));
  await within(pool.stop(), platformTimeout(10_000), 'stop()', () => 'a thread still loading its preload');
  t.is(pool.stats().threadsDied, 0);
});

test('a preload that cannot be imported ends its thread as a failed start: queued tasks fail, none waits forever', async (t) => {
  const pool = new ThreadPool({ maxThreads: 1, preload: ['./_fixtures/no-such-preload.mjs'] });
  pool.start();
  const err = await t.throwsAsync(deferToThreadPool(reactor, pool, (x: number) => x, 1), { instanceOf: ThreadDiedError });
  t.regex(err!.message, /no pool thread could start/);
  await pool.stop();
});
