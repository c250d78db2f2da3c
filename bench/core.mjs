// Core figures: trivial tasks (add two numbers) on 2 threads, reactor-threads
// against raw worker_threads postMessage (round robin, no bookkeeping) in
// the same process run. "seq": one call at a time, p50/p99 µs; "window":
// at most 256 in flight, tasks/s. Each figure is the median of 3 rounds.
// Run: node bench/core.mjs [--quick]
import { Worker } from 'node:worker_threads';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';

const quick = process.argv.includes('--quick');
const SEQ = quick ? 2_000 : 20_000;
const WINDOW_TASKS = quick ? 20_000 : 200_000;
const WINDOW = 256;
const ROUNDS = 3;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };

async function seq(call) {
  for (let i = 0; i < 500; i++) await call(i);
  const lat = new Float64Array(SEQ);
  for (let i = 0; i < SEQ; i++) {
    const t0 = process.hrtime.bigint();
    await call(i);
    lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  return { p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

async function windowed(call) {
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  await new Promise((resolve) => {
    const pump = () => {
      while (next < WINDOW_TASKS && next - done < WINDOW) {
        call(next++).then(() => { if (++done === WINDOW_TASKS) resolve(); else pump(); });
      }
    };
    pump();
  });
  return WINDOW_TASKS / ((performance.now() - t0) / 1000);
}

function rawPool() {
  const workers = [0, 1].map(() => new Worker(new URL('./_raw-worker.mjs', import.meta.url)));
  const pending = new Map();
  let id = 0;
  for (const w of workers) w.on('message', ([i, r]) => { pending.get(i)(r); pending.delete(i); });
  return {
    call: (i) => new Promise((resolve) => { const k = id++; pending.set(k, resolve); workers[k & 1].postMessage([k, i, 1]); }),
    close: () => Promise.all(workers.map((w) => w.terminate())),
  };
}

function reactorPool() {
  const pool = new ThreadPool({ minThreads: 2, maxThreads: 2, name: 'bench' });
  pool.start();
  const add = (a, b) => a + b;
  return { call: (i) => deferToThreadPool(reactor, pool, add, i, 1), close: () => pool.stop() };
}

const results = {};
for (const [name, make] of [['raw worker_threads', rawPool], ['reactor-threads', reactorPool]]) {
  const lib = make();
  const s = [], w = [];
  for (let r = 0; r < ROUNDS; r++) {
    process.stderr.write(`${name}: round ${r + 1}/${ROUNDS}\n`);
    s.push(await seq(lib.call));
    w.push(await windowed(lib.call));
  }
  await lib.close();
  results[name] = { seqP50: median(s.map((x) => x.p50)), seqP99: median(s.map((x) => x.p99)), window: median(w) };
}
const raw = results['raw worker_threads'];
console.log(`Node ${process.version}, ${(await import('node:os')).availableParallelism()} cores${quick ? ' (quick)' : ''}`);
console.log('library              seq p50 µs  seq p99 µs  window tasks/s  window vs raw');
for (const [name, r] of Object.entries(results)) {
  console.log(`${name.padEnd(20)} ${r.seqP50.toFixed(1).padStart(10)}  ${r.seqP99.toFixed(1).padStart(10)}  ${Math.round(r.window).toString().padStart(14)}  ${(r.window / raw.window).toFixed(2).padStart(12)}x`);
}
