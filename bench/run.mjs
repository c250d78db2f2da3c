// The benchmark suite: `npm run bench` (or `npm run bench -- --quick`;
// `-- --only=seq,bridge` runs some). Every library runs each workload in a
// process of its own, 3 times (once with --quick), the libraries taking
// turns; the tables give each library's median and its ratio to piscina's
// default and to raw worker_threads. Writes bench/results.json and an SVG
// chart per workload under bench/charts/. Last, `bullmq` (bench/bullmq.mjs)
// compares the BullMQ adapter with BullMQ itself: its own contenders and
// redis-server, its own tables and bench/results-bullmq.json; before it, `sync`
// (bench/sync.mjs): blockingCallInThread beside synckit and
// make-synchronized, in bench/results-sync.json.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { barChart } from './svg.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const RUNS = quick ? 1 : 3;
const LIBS = ['raw', 'piscina', 'tinypool', 'workerpool', 'poolifier', 'reactor-threads'];
const LABEL = { raw: 'raw worker_threads', piscina: 'piscina 5', tinypool: 'tinypool 2', workerpool: 'workerpool 10', poolifier: 'poolifier 5', 'reactor-threads': 'reactor-threads' };

/** What each workload reports: its figures, the headline one, and which way is better. */
const WORKLOADS = {
  seq: { title: 'seq: one trivial call at a time', figures: ['p50', 'p99'], unit: 'µs', head: 'p50', better: 'lower' },
  window: { title: 'window: trivial tasks, 256 in flight', figures: ['opsPerSec'], unit: 'tasks/s', head: 'opsPerSec', better: 'higher' },
  records: { title: 'records: a small object in and out, 256 in flight', figures: ['opsPerSec'], unit: 'tasks/s', head: 'opsPerSec', better: 'higher' },
  burst: { title: 'burst: 50,000 trivial tasks at once', figures: ['opsPerSec'], unit: 'tasks/s', head: 'opsPerSec', better: 'higher' },
  cpu: { title: 'cpu: 2,000 × 5,000 JSON.stringify', figures: ['wallMs', 'speedup'], unit: 'ms', head: 'wallMs', better: 'lower' },
  cpulong: { title: 'cpu long: 400 × 25,000 JSON.stringify', figures: ['wallMs', 'speedup'], unit: 'ms', head: 'wallMs', better: 'lower' },
  firstburst: { title: 'firstburst: 8 tasks of 40 ms on a started pool (ideal: 4 tasks)', figures: ['wallMs', 'idealRatio'], unit: 'ms', head: 'wallMs', better: 'lower' },
  firstburstcold: { title: 'firstburst cold: the same, pool start included', figures: ['wallMs', 'idealRatio'], unit: 'ms', head: 'wallMs', better: 'lower' },
  scaling: { title: 'scaling: cpu tasks/s at 1 and 2 threads', figures: ['oneThread', 'twoThreads', 'scale'], unit: 'tasks/s', head: 'twoThreads', better: 'higher' },
  payload: { title: 'payload: 16 MiB to a thread and back', figures: ['mbPerSec'], unit: 'MB/s', head: 'mbPerSec', better: 'higher' },
  startup: { title: 'startup: import to first result', figures: ['ms'], unit: 'ms', head: 'ms', better: 'lower' },
  idle: { title: 'idle: exits by itself after its work (no close)', figures: ['exitMs'], unit: 'ms', head: 'exitMs', better: 'lower' },
  queue: { title: 'queue memory: per queued trivial task', figures: ['bytesPerTask', 'heapBytesPerTask'], unit: 'bytes', head: 'bytesPerTask', better: 'lower' },
};

function runChild(args, { timeoutMs = 600_000, waitExit = false } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { cwd: join(here, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '', line;
    child.stdout.on('data', (d) => {
      out += d;
      if (line === undefined && out.includes('\n')) line = { value: JSON.parse(out.split('\n')[0]), at: Date.now() };
    });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (waitExit) {
        // idle: how long after its last result the process took to exit (killed = never).
        resolve({ exitMs: signal ? Infinity : Date.now() - (line?.at ?? started) });
        return;
      }
      if (code !== 0 || !line) {
        const e = new Error(`${args.join(' ')} failed (${code ?? signal}):\n${err.slice(-2000)}`);
        e.crashed = signal !== null && signal !== 'SIGKILL';
        // (13: Node's exit code for a top-level await never settled, a call the library never settled.)
        e.unsettled = code === 13;
        reject(e);
      } else {
        resolve(line.value);
      }
    });
  });
}

/**
 * A run whose process died by a signal of its own (not our timeout's
 * SIGKILL) is run once more, and said so: Node 20 aborted once in
 * piscina's worker start (v8::Module::IsGraphAsync on a module not yet
 * instantiated, within its require() of an ES module), which ended a
 * 17-minute run with nothing written. So is one that exited with 13, its
 * calls never settled, for a peer: poolifier's cold pool did so once in a
 * full run (firstburstcold; 0 times in 6 runs right after). A second
 * failure, or any other (reactor-threads' 13 included), ends the run.
 */
async function runRetryingCrash(args, options) {
  try {
    return await runChild(args, options);
  } catch (e) {
    // (Not for reactor-threads: a call of ours never settled is a bug of ours, which the run must show.)
    if (!e.crashed && !(e.unsettled && !args.includes('reactor-threads'))) throw e;
    const what = e.crashed ? 'crashed' : 'exited with calls never settled (13)';
    process.stderr.write(`bench: run ${what}, run again once: ${e.message.split('\n').slice(0, 2).join(' ')}\n`);
    return runChild(args, options);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (v) => (!Number.isFinite(v) ? 'never' : v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2));

const results = {
  machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` },
  quick, runs: RUNS, workloads: {},
};
/** Writes what was measured so far to bench/results.json. */
function writeResults() {
  writeFileSync(join(here, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
}
const note = `${results.machine.cpus} cores (${results.machine.model}), Node ${process.version}, median of ${RUNS} run${RUNS > 1 ? 's' : ''}, 2 threads`;

for (const [name, w] of Object.entries(WORKLOADS)) {
  if (only && !only.includes(name)) continue;
  // The libraries take turns, round by round, each round starting one
  // library further on: this VM's cores change speed from one minute to
  // the next, and a library whose runs all came in a slow minute would
  // lose by that alone (cpu's speed-ups of two libraries, run
  // back to back 5 times, swapped places 4 times in 5).
  const runs = Object.fromEntries(LIBS.map((lib) => [lib, []]));
  for (let r = 0; r < RUNS; r++) {
    for (let k = 0; k < LIBS.length; k++) {
      const lib = LIBS[(k + r) % LIBS.length];
      process.stderr.write(`bench: ${name} · ${LABEL[lib]} · run ${r + 1}/${RUNS}\n`);
      const args = [...(name === 'queue' ? ['--expose-gc'] : []), join(here, 'workload.mjs'), name, lib, ...(quick ? ['--quick'] : [])];
      runs[lib].push(await runRetryingCrash(args, name === 'idle' ? { timeoutMs: 5_000, waitExit: true } : {}));
    }
  }
  const rows = Object.fromEntries(LIBS.map((lib) => [lib, Object.fromEntries(w.figures.map((f) => [f, median(runs[lib].map((x) => x[f]))]))]));
  results.workloads[name] = rows;
  // The table: every figure, then the headline's ratio to piscina and to raw.
  const ratio = (lib, base) => {
    const a = rows[lib][w.head], b = rows[base][w.head];
    if (!Number.isFinite(a) || !Number.isFinite(b)) return '—';
    return `${(w.better === 'higher' ? a / b : b / a).toFixed(2)}x`;
  };
  console.log(`\n${w.title} (${w.unit}; ${w.better} is better; ratio > 1 means faster than the base)`);
  console.log(['library'.padEnd(20), ...w.figures.map((f) => f.padStart(14)), 'vs piscina'.padStart(11), 'vs raw'.padStart(9)].join(' '));
  for (const lib of LIBS) {
    console.log([LABEL[lib].padEnd(20), ...w.figures.map((f) => fmt(rows[lib][f]).padStart(14)),
      ratio(lib, 'piscina').padStart(11), ratio(lib, 'raw').padStart(9)].join(' '));
  }
  mkdirSync(join(here, 'charts'), { recursive: true });
  writeFileSync(join(here, 'charts', `${name}.svg`), barChart(`${w.title} (${w.better} is better)`,
    LIBS.map((lib) => ({ label: LABEL[lib], value: Number.isFinite(rows[lib][w.head]) ? rows[lib][w.head] : 0, highlight: lib === 'reactor-threads' })),
    w.unit, note));
  // (After every workload: a later failure loses none of a long run's figures.)
  writeResults();
}

if (!only || only.includes('bridge')) {
  process.stderr.write('bench: bridge\n');
  results.bridge = await runChild([join(here, 'bridge.mjs'), '--json', ...(quick ? ['--quick'] : [])]);
  const b = results.bridge;
  const names = { a: 'f returns a value', b: 'f returns a resolved Promise', c: 'f resolves on setImmediate', iso: 'isolated calls, 1 ms apart' };
  console.log('\nbridge: blockingCallFromThread from a pool thread vs SharedArrayBuffer + Atomics.wait + MessagePort (µs)');
  console.log(['case'.padEnd(30), 'rt p50'.padStart(8), 'js p50'.padStart(8), 'ratio'.padStart(7), 'rt p99'.padStart(8), 'js p99'.padStart(8), 'ratio'.padStart(7)].join(' '));
  for (const [k, label] of Object.entries(names)) {
    const r = b[k].reactorThreads, j = b[k].jsPattern;
    console.log([label.padEnd(30), fmt(r.p50).padStart(8), fmt(j.p50).padStart(8), `${(r.p50 / j.p50).toFixed(2)}x`.padStart(7),
      fmt(r.p99).padStart(8), fmt(j.p99).padStart(8), `${(r.p99 / j.p99).toFixed(2)}x`.padStart(7)].join(' '));
  }
  console.log(`a parked caller: ${b.cpuPercentParked.toFixed(2)}% of a core; idle pool thread wake-up p50 ${fmt(b.wake.p50)} µs, p99 ${fmt(b.wake.p99)} µs`);
}

// (Not when only bullmq runs: that would replace the library figures with nothing.)
if (Object.keys(results.workloads).length > 0 || results.bridge) {
  writeResults();
  console.log(`\n${note}. Written: bench/results.json, bench/charts/*.svg`);
}

if (!only || only.includes('sync')) {
  process.stderr.write('bench: sync\n');
  await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'sync.mjs'), ...(quick ? ['--quick'] : [])], { cwd: join(here, '..'), stdio: 'inherit' });
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`bench/sync.mjs failed (${code ?? signal})`))));
  });
}

if (!only || only.includes('bullmq')) {
  process.stderr.write('bench: bullmq\n');
  await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'bullmq.mjs'), ...(quick ? ['--quick'] : [])], { cwd: join(here, '..'), stdio: 'inherit' });
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`bench/bullmq.mjs failed (${code ?? signal})`))));
  });
}
