// The "sync" workload: the calling thread waits, synchronously, for a
// function run on another thread (blockingCallInThread, and what synckit
// and make-synchronized are used for: a lint rule, a config loader that
// must run async code). Each library runs x + 1 in its own child process,
// three times, in one run: the first call (thread start included), then
// back-to-back calls timed one by one (p50, p99). Usage: node
// bench/sync.mjs [--quick], or npm run bench -- --only=sync; results in
// bench/results-sync.json, chart in bench/charts/sync.svg.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { barChart } from './svg.mjs';

const LIBS = ['reactor-threads', 'synckit', 'make-synchronized'];
const quick = process.argv.includes('--quick');
const calls = quick ? 2_000 : 20_000;
const runs = 3;

async function child(lib) {
  const started = performance.now();
  let call;
  if (lib === 'reactor-threads') {
    const { blockingCallInThread } = await import('../dist/index.js');
    const { incInThread } = await import('./_sync-fns.mjs');
    call = (x) => blockingCallInThread(incInThread, x);
  } else if (lib === 'synckit') {
    const { createSyncFn } = await import('synckit');
    call = createSyncFn(new URL('./_synckit-worker.mjs', import.meta.url).href);
  } else {
    const { default: makeSynchronized } = await import('make-synchronized');
    const m = makeSynchronized(new URL('./_sync-fns.mjs', import.meta.url));
    call = (x) => m.inc(x);
  }
  if (call(41) !== 42) throw new Error(`${lib}: wrong answer`);
  const firstMs = performance.now() - started;
  for (let i = 0; i < 500; i++) call(i);
  const times = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t = process.hrtime.bigint();
    const r = call(i);
    times[i] = Number(process.hrtime.bigint() - t) / 1000;
    if (r !== i + 1) throw new Error(`${lib}: wrong answer ${r} for ${i}`);
  }
  times.sort();
  const at = (q) => times[Math.min(calls - 1, Math.floor(q * calls))];
  process.stdout.write(JSON.stringify({ firstMs, p50: at(0.5), p99: at(0.99) }));
  process.exit(0);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main() {
  const self = fileURLToPath(import.meta.url);
  const results = {};
  for (let r = 0; r < runs; r++) {
    for (const lib of LIBS) {
      const out = spawnSync(process.execPath, [self, '--child', lib, ...(quick ? ['--quick'] : [])], { encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`${lib}: ${out.stderr}`);
      (results[lib] ??= []).push(JSON.parse(out.stdout));
    }
  }
  const summary = {};
  for (const lib of LIBS) {
    summary[lib] = Object.fromEntries(['firstMs', 'p50', 'p99'].map((k) => [k, median(results[lib].map((x) => x[k]))]));
  }
  const rt = summary['reactor-threads'];
  console.log(`sync: x + 1 awaited synchronously on another thread, ${calls} back-to-back calls, medians of ${runs} runs`);
  console.log('library            first call   p50 µs   p99 µs');
  for (const lib of LIBS) {
    const s = summary[lib];
    console.log(`${lib.padEnd(18)} ${s.firstMs.toFixed(1).padStart(7)} ms ${s.p50.toFixed(1).padStart(8)} ${s.p99.toFixed(1).padStart(8)}`);
  }
  const sk = summary.synckit;
  console.log(`reactor-threads / synckit: p50 ${(rt.p50 / sk.p50).toFixed(2)}x (target 0.3x), p99 ${(rt.p99 / sk.p99).toFixed(2)}x (target 0.5x), first call ${(rt.firstMs / sk.firstMs).toFixed(2)}x`);
  if (!quick) {
    mkdirSync(new URL('./charts/', import.meta.url), { recursive: true });
    const bars = LIBS.flatMap((lib) => ['p50', 'p99'].map((k) => ({ label: `${lib} ${k}`, value: summary[lib][k], highlight: lib === 'reactor-threads' })));
    writeFileSync(new URL('./charts/sync.svg', import.meta.url),
      barChart('sync: x + 1 awaited synchronously on another thread (lower is better)', bars, 'µs',
        `${calls} back-to-back calls, medians of ${runs} runs, Node ${process.version}`));
    writeFileSync(new URL('./results-sync.json', import.meta.url),
      `${JSON.stringify({ date: new Date().toISOString(), node: process.version, calls, runs, summary, results }, null, 2)}\n`);
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else main();
