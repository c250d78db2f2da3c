// The package behind a symlink (pnpm's node_modules) under
// --preserve-symlinks: each pool thread holds one copy of it, the one its
// task modules import, so that the thread's runtime and the task's imports
// are the same (src/pool/collaborators.ts, startWorker).
import test from 'ava';
import { join } from 'node:path';
import { runChild } from './_helpers/child.js';
import { symlinkedApp } from './_helpers/symlinked.js';
import { platformTimeout } from './_helpers/wait.js';

/** A task that reports which copies of the bundle its thread loaded, and its currentTask(). */
const taskCjs = `const { threadable, currentTask } = require('reactor-threads');
exports.inThread = threadable(function inThread() {
  return { copies: Object.keys(require.cache).filter((f) => /reactor-threads\\.js$/.test(f)), task: typeof currentTask().id };
});
`;
const taskMjs = `import { createRequire } from 'node:module';
import { threadable, currentTask } from 'reactor-threads';
const require = createRequire(import.meta.url);
export const inThread = threadable(function inThread() {
  return { copies: Object.keys(require.cache).filter((f) => /reactor-threads\\.js$/.test(f)), task: typeof currentTask().id };
});
`;
const mainOf = (importTask: string, execArgv: string): string => `${importTask}
const pool = new ThreadPool({ maxThreads: 1${execArgv} });
pool.start();
deferToThreadPool(reactor, pool, inThread).then(
  (r) => { console.log(JSON.stringify(r)); return pool.stop(); },
  (e) => { console.log(JSON.stringify({ error: String(e) })); return pool.stop(); });
`;
const cjsMain = (execArgv = ''): string => mainOf(`const { ThreadPool, deferToThreadPool, reactor } = require('reactor-threads');
const { inThread } = require('./task.cjs');`, execArgv);
const esmMain = (execArgv = ''): string => mainOf(`import { ThreadPool, deferToThreadPool, reactor } from 'reactor-threads';
import { inThread } from './task.mjs';`, execArgv);

const cases: [string, Record<string, string>, string][] = [
  ['a CommonJS app', { 'task.cjs': taskCjs, 'main.cjs': cjsMain() }, 'main.cjs'],
  ['an ES module app', { 'task.mjs': taskMjs, 'main.mjs': esmMain() }, 'main.mjs'],
  ['a pool given execArgv with the flag', { 'task.cjs': taskCjs, 'main.cjs': cjsMain(", execArgv: ['--preserve-symlinks']") }, 'main.cjs'],
  ['a pool given execArgv without it', { 'task.cjs': taskCjs, 'main.cjs': cjsMain(", execArgv: ['--no-deprecation']") }, 'main.cjs'],
  // (The thread's entry is a file: an eval script would be an ES module here.)
  ['a pool given execArgv with --input-type=module', {
    'task.cjs': taskCjs, 'main.cjs': cjsMain(", execArgv: ['--preserve-symlinks', '--input-type=module']"),
  }, 'main.cjs'],
];
for (const [what, files, main] of cases) {
  test(`${what} under --preserve-symlinks: the pool thread loads the package once, and currentTask() works in its tasks`, async (t) => {
    const dir = symlinkedApp(t, files);
    if (!dir) return;
    const r = await runChild(join(dir, main), [], platformTimeout(20_000), process.env, ['--preserve-symlinks']);
    t.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { copies?: string[]; task?: string; error?: string };
    t.is(out.error, undefined);
    t.is(out.copies?.length, 1, JSON.stringify(out.copies));
    t.is(out.task, 'number');
  });
}
