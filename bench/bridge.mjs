// Bridge figures: blockingCallFromThread (a pool thread calls a function on
// the main thread and waits for its result) against the best pure-JS
// pattern (a plain Worker with a MessagePort + SharedArrayBuffer flag), in
// the same process run.
//
//   1./2. round trips: 1,000 warm-up + 10,000 timed calls back to back, for
//         three f on main: (a) returns x + 1, (b) returns an already-resolved
//         Promise, (c) returns a Promise resolved on the next setImmediate.
//         Timed in the calling thread with process.hrtime; p50/p99 µs.
//   3.    isolated calls: one call per ~1 ms (the caller sleeps 1 ms before
//         each), 1,000 calls, variant (a): main is asleep in its poll phase
//         when each call arrives.
//   4.    CPU of a parked caller: one blockingCallFromThread to an f that
//         resolves after 2,000 ms; process.cpuUsage() over that window, while
//         main only waits on a timer, as % of one core.
//   5.    wake-up of an idle pool thread: 200 tasks, one at a time, ~5 ms
//         apart; task start (absolute clock in the thread) - submit time.
//
// Figures 1-3 and 5 are the median of 3 rounds (of each round's p50, and of
// each round's p99); figure 4 is measured once.
// Run: node bench/bridge.mjs [--quick]   (--quick: 1 round, 2,000 calls)
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { cpuWindow, parkOnce, runCalls, stamp, VARIANTS } from './_bridge-fns.mjs';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const WARM = 1_000;
const CALLS = quick ? 2_000 : 10_000;
const ISOLATED_CALLS = 1_000;
const ISOLATED_WARM = 20;        // a few untimed calls to settle the 1 ms rhythm
const ISOLATED_GAP_MS = 1;
const PARK_MS = 2_000;
const WAKE_TASKS = 200;
const WAKE_GAP_MS = 5;

const VARIANT_NAMES = { a: '(a) number', b: '(b) resolved Promise', c: '(c) setImmediate Promise' };
const log = (s) => process.stderr.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => { const s = Float64Array.from(xs).sort(); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
const summary = (lat) => ({ p50: pct(lat, 0.5), p99: pct(lat, 0.99) });

// ---- mechanism 1: reactor-threads -------------------------------------------
// One pool thread; runCalls (bench/_bridge-fns.mjs) makes the calls in it.
const pool = new ThreadPool({ minThreads: 1, maxThreads: 1, name: 'bench-bridge' });
pool.start();
const rt = {
  name: 'reactor-threads',
  run: (variant, warm, n, gapMs) => deferToThreadPool(reactor, pool, runCalls, variant, warm, n, gapMs),
};

// ---- mechanism 2: the pure-JS pattern ---------------------------------------
// The Worker (bench/_bridge-worker.mjs) posts [variant, x] on its port and
// waits on flag[0]. Main computes f, awaiting a Promise, posts the reply on
// the port, then sets the flag and wakes the Worker.
const flag = new Int32Array(new SharedArrayBuffer(4));
const { port1: mainPort, port2: workerPort } = new MessageChannel();
mainPort.on('message', async ([variant, x]) => {
  let r = VARIANTS[variant](x);
  if (r instanceof Promise) r = await r;
  mainPort.postMessage(r);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
const worker = new Worker(new URL('./_bridge-worker.mjs', import.meta.url), {
  workerData: { sab: flag.buffer, port: workerPort },
  transferList: [workerPort],
});
const js = {
  name: 'JS pattern',
  run: (variant, warm, n, gapMs) => new Promise((resolve, reject) => {
    const onError = (e) => { worker.off('message', onMessage); reject(e); };
    const onMessage = (lat) => { worker.off('error', onError); resolve(lat); };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.postMessage({ variant, warm, n, gapMs });
  }),
};

// ---- 5. wake-up of an idle pool thread --------------------------------------
// Main takes timeOrigin + now just before submitting; the task returns the
// same clock taken at its start. (The thread also returns process.hrtime,
// which is one monotonic clock for the whole process, as a cross-check of
// the two threads' timeOrigin.)
async function wakeUp() {
  const lat = [], latHr = [];
  for (let i = 0; i < WAKE_TASKS; i++) {
    await sleep(WAKE_GAP_MS);            // the thread goes idle in its event loop
    const submitHr = process.hrtime.bigint();
    const submit = performance.timeOrigin + performance.now();
    const [start, startHr] = await deferToThreadPool(reactor, pool, stamp);
    lat.push((start - submit) * 1000);
    latHr.push((startHr - Number(submitHr)) / 1000);
  }
  return { abs: summary(lat), hr: summary(latHr) };
}

// ---- rounds -----------------------------------------------------------------
const rows = {};  // key -> list of per-round { p50, p99 }
const add = (key, s) => (rows[key] ??= []).push(s);
for (let r = 1; r <= ROUNDS; r++) {
  for (const v of Object.keys(VARIANTS)) {
    for (const m of [rt, js]) {
      log(`round ${r}/${ROUNDS}: ${m.name} ${VARIANT_NAMES[v]}, ${WARM} + ${CALLS} calls`);
      add(`${m.name}|${v}`, summary(await m.run(v, WARM, CALLS, 0)));
    }
  }
  for (const m of [rt, js]) {
    log(`round ${r}/${ROUNDS}: ${m.name} isolated, ${ISOLATED_CALLS} calls ${ISOLATED_GAP_MS} ms apart`);
    add(`${m.name}|iso`, summary(await m.run('a', ISOLATED_WARM, ISOLATED_CALLS, ISOLATED_GAP_MS)));
  }
  log(`round ${r}/${ROUNDS}: pool thread wake-up, ${WAKE_TASKS} tasks ${WAKE_GAP_MS} ms apart`);
  const w = await wakeUp();
  add('wake', w.abs);
  add('wakeHr', w.hr);
}
const fig = (key) => ({ p50: median(rows[key].map((s) => s.p50)), p99: median(rows[key].map((s) => s.p99)) });

// The plain Worker is no longer needed: stop it so that only the parked pool
// thread and an idle main are left for the CPU figure.
await worker.terminate();
mainPort.close();

// ---- 4. CPU used by a parked caller -----------------------------------------
// resolveAfter (main side) samples process.cpuUsage() when it is called, that
// is once the pool thread has sent the call and parked, and again when its
// timer fires, just before resolving. Meanwhile main only waits on that timer.
log(`parked caller: one blocking call of ${PARK_MS} ms`);
await deferToThreadPool(reactor, pool, parkOnce, PARK_MS);
const cpuUs = cpuWindow.end.user + cpuWindow.end.system;
const cpuPct = (cpuUs / 1000) / cpuWindow.ms * 100;

await pool.stop();

// ---- report -----------------------------------------------------------------
if (process.argv.includes('--json')) {
  // For bench/run.mjs: the same figures as one JSON line.
  const out = { cpuPercentParked: cpuPct, wake: fig('wake') };
  for (const v of [...Object.keys(VARIANTS), 'iso']) {
    out[v] = { reactorThreads: fig(`${rt.name}|${v}`), jsPattern: fig(`${js.name}|${v}`) };
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}
const f1 = (x) => x.toFixed(1).padStart(8);
const ratio = (x, target) => `${x.toFixed(2)}x ${x <= target ? 'ok  ' : 'MISS'}`.padStart(11);
const line = (mech, variant, s, rp50 = '', rp99 = '') =>
  console.log(`${mech.padEnd(16)} ${variant.padEnd(26)} ${f1(s.p50)} ${f1(s.p99)}  ${rp50.padStart(11)}  ${rp99.padStart(11)}`);

console.log(`Node ${process.version}, ${availableParallelism()} cores${quick ? ' (quick)' : ''}; ` +
  `median of ${ROUNDS} round${ROUNDS > 1 ? 's' : ''}; ${CALLS} timed calls after ${WARM} warm-up`);
console.log('');
console.log(`${'mechanism'.padEnd(16)} ${'variant'.padEnd(26)} ${'p50 µs'.padStart(8)} ${'p99 µs'.padStart(8)}  ${'p50 rt/js'.padStart(11)}  ${'p99 rt/js'.padStart(11)}`);
for (const v of Object.keys(VARIANTS)) {
  const a = fig(`${rt.name}|${v}`), b = fig(`${js.name}|${v}`);
  line(rt.name, VARIANT_NAMES[v], a, ratio(a.p50 / b.p50, 0.25), ratio(a.p99 / b.p99, 0.8));
  line(js.name, VARIANT_NAMES[v], b);
}
{
  const a = fig(`${rt.name}|iso`), b = fig(`${js.name}|iso`);
  const label = `isolated (a), ${ISOLATED_GAP_MS} ms apart`;
  line(rt.name, label, a, ratio(a.p50 / b.p50, 1.0), ratio(a.p99 / b.p99, 1.0));
  line(js.name, label, b);
}
console.log('targets: p50 <= 0.25x and p99 <= 0.8x for back-to-back calls; <= 1.0x for isolated calls');
console.log('');
console.log(`parked caller CPU: ${cpuPct.toFixed(2)}% of one core ` +
  `(${(cpuUs / 1000).toFixed(1)} ms user+system over ${cpuWindow.ms.toFixed(0)} ms, whole process, main idle on a timer)`);
const w = fig('wake'), wh = fig('wakeHr');
console.log(`idle pool thread wake-up (task start - submit, ${WAKE_TASKS} tasks ${WAKE_GAP_MS} ms apart): ` +
  `p50 ${w.p50.toFixed(1)} µs, p99 ${w.p99.toFixed(1)} µs ` +
  `(hrtime cross-check: p50 ${wh.p50.toFixed(1)} µs, p99 ${wh.p99.toFixed(1)} µs)`);
