// The package's entries, each as dist/….js (require) and dist/….mjs
// (import): one instance, the same names. 'reactor-threads/bullmq' too,
// whose ES module entry (src/bullmq/index.mts) lists its names by hand.
// A failed import: addon-loader.ts. And what the ES module entries load
// through Node's ES module loader: no CommonJS (scripts/bundle.mjs).
import test from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { platformTimeout } from './_helpers/wait.js';

for (const entry of ['reactor-threads', 'reactor-threads/bullmq']) {
  test(`${entry}: the ES module entry exports the CommonJS entry's values by the same names, and no __esModule`, async (t) => {
    const esm = await import(entry) as Record<string, unknown>;
    const cjs = require(entry) as Record<string, unknown>;
    t.not(Object.keys(cjs).length, 0);
    t.false(Object.keys(esm).includes('__esModule'));
    t.deepEqual(Object.keys(esm).sort(), Object.keys(cjs).sort());
    for (const name of Object.keys(cjs)) t.is(esm[name], cjs[name], name);
  });
}

// A module hook that reports what Node's ES module loader loads, and as what.
const reportLoads = 'let port; export function initialize(data) { port = data.port; }'
  + ' export async function load(url, context, next) { const r = await next(url, context); port.postMessage([url, r.format]); return r; }';
const importBoth = `import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const loaded = [];
// Loaded last, so reported last: every load before it was reported.
const last = 'data:text/javascript,export default 0';
port1.on('message', (m) => {
  loaded.push(m);
  if (m[0] === last) { console.log(JSON.stringify(loaded)); port1.close(); }
});
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(reportLoads)}), { data: { port: port2 }, transferList: [port2] });
await import('reactor-threads');
await import('reactor-threads/bullmq');
await import(last);`;

test('importing either ES module entry loads no CommonJS through the ES module loader (its lexer costs each new thread ~4 ms)', async (t) => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', importBoth], { cwd: join(__dirname, '..'), timeout: platformTimeout(20_000) },
      (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out)));
  });
  const loaded = JSON.parse(stdout) as [string, string][];
  const ours = loaded.filter(([url]) => url.includes('/dist/'));
  t.true(ours.some(([url]) => url.endsWith('/dist/runtime/not-bundled-esm.mjs')), JSON.stringify(loaded));
  t.deepEqual(ours.filter(([, format]) => format !== 'module'), []);
});
