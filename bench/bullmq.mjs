// BullMQ figures: reactor-threads' adapter (BullMQThreadPool in the caller,
// serveBullMQ in a worker process) against BullMQ used directly, all in one
// run on this machine: a redis-server of our own (no persistence), this
// process as the caller, and one worker process per contender
// (bench/_bullmq-worker.mjs), as in production.
//
//   trivial  add(a, b) at concurrency C (8, then 2): N calls all in flight
//            (jobs/s, and the p50 of their round trips), then calls one at
//            a time (p50, p99). The adapter's worker has 2 threads; plain
//            BullMQ runs the function inline in its Worker's processor (the
//            target's base), and a sandboxed processor (useWorkerThreads)
//            runs it on BullMQ's own worker threads, for reference.
//   cpu      200 jobs of ~20 ms of sha256 at concurrency 2: the adapter
//            (2 threads), a sandboxed processor (useWorkerThreads: true),
//            and an inline processor, which blocks its worker's event loop:
//            wall time, jobs/s, that loop's delays, and the stalled jobs and
//            lock renewal failures BullMQ reported.
// For each, the CPU time the caller, the worker and redis-server spent
// per job: on 2 shared cores, that is what bounds throughput.
//
// The plain caller adds jobs with Queue.add and hears their outcome from
// one QueueEvents 'completed' listener shared by all calls: 1.6-2x the
// jobs/s of job.waitUntilFinished here, which adds a Redis call and two
// listeners per job (--waiter=until-finished measures that instead). Like
// the adapter's pool, it sends nothing until its QueueEvents reads. Both
// sides keep finished jobs alike (the adapter's default, 1 hour / 10,000
// jobs), and their queues' event streams keep EVENTS_KEPT events.
// Contenders alternate within each round, the order turned every round;
// each figure is the median of 3 rounds (1 with --quick).
//
// Run: node bench/bullmq.mjs [--quick] [--waiter=until-finished] [--cpu-prof=DIR]
// or npm run bench -- --only=bullmq [--quick]. --cpu-prof=DIR profiles the
// adapter's worker at concurrency 8 (every thread) into DIR; its figures
// are then not written. Writes bench/results-bullmq.json.
import { fork, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, QueueEventsProducer } from 'bullmq';
import { deferToThreadPool, reactor } from 'reactor-threads';
import { BullMQThreadPool } from 'reactor-threads/bullmq';
import * as rt from './_bullmq-rt-tasks.mjs';
import { spin } from './_bullmq-tasks.mjs';
import { findRedisServer, startRedis } from './_redis.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = process.argv.includes('--quick');
const waiter = arg('waiter') ?? 'listener';
const cpuProf = arg('cpu-prof');
const ROUNDS = quick ? 1 : 3;
const BURST = quick ? 1_000 : 5_000;
const SEQ = quick ? 100 : 500;
const CONCURRENCIES = [8, 2];
const THREADS = 2;
const CPU_JOBS = quick ? 40 : 200;
/**
 * sha256 rounds per cpu job: about 20 ms here. A fixed count, not one
 * calibrated at start: this VM's cores change speed by 2x or more from
 * one minute to the next, so a calibration would make each run's job
 * different, and the work is the same for every contender anyway.
 */
const SPIN_ROUNDS = 10_000;
const CPU_CONCURRENCY = 2;
/** The adapter's default keepFinished, given to plain jobs too. */
const KEEP = { age: 3600, count: 10_000 };
/**
 * Events a queue's stream keeps. BullMQ's default, 10,000, is less than a
 * burst writes (about 4 per job): a caller whose reader fell that far
 * behind would lose completions (plain BullMQ then waits forever; the
 * adapter finds them by its checks, at most 64 every 2 s).
 */
const EVENTS_KEPT = 100_000;
/** A phase that takes longer has hung (a lost event, a dead worker): the run fails, naming it. */
const PHASE_LIMIT_MS = 180_000;

const log = (s) => process.stderr.write(`bench bullmq: ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => { const s = Float64Array.from(xs).sort(); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
/** `promise`, or a rejection naming `what` if it has not settled within `ms`. */
function bounded(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// ---- processes: redis-server and the workers, ended on any exit -----------

const redisBinary = findRedisServer();
if (!redisBinary) {
  // (npm run bench goes on without it.)
  log('skipped: no redis-server (install it: apt-get install -y redis-server)');
  process.exit(0);
}
// Exit hooks (ours and _redis.mjs's) kill what is left; a signal must go through exit to run them.
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
const children = new Set();
process.on('exit', () => { for (const child of children) child.kill('SIGKILL'); });

const redis = await startRedis(redisBinary);
const { connection } = redis;
const redisVersion = spawnSync(redisBinary, ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1];
log(`redis-server ${redisVersion} on port ${connection.port}`);

/** Starts a worker process (see _bullmq-worker.mjs) and resolves once it takes jobs. */
function startWorker(options, execArgv = []) {
  const child = fork(join(here, '_bullmq-worker.mjs'), [JSON.stringify({ connection, ...options })],
    { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], execArgv });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4096); process.stderr.write(d); });
  const exited = new Promise((done) => child.once('exit', done));
  exited.then(() => children.delete(child));
  /** Its next message; a rejection if it exits first. */
  const next = (what) => Promise.race([new Promise((done) => child.once('message', done)), exited.then((code) => {
    throw new Error(`worker ${options.mode} exited (${code}) ${what}:\n${stderr}`);
  })]);
  const ask = (msg) => { const reply = next(`before it answered ${msg}`); child.send(msg); return reply; };
  return bounded(next('before it was ready'), 30_000, `worker ${options.mode} starting`).then(() => ({
    /** Its CPU time, event-loop delays and BullMQ's reports, from measureStart() to measureStop(). */
    measureStart: () => ask('measure-start'),
    measureStop: () => ask('measure-stop'),
    async stop() {
      child.send('close');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  }));
}

// ---- callers ------------------------------------------------------------------

/**
 * Sets queue `name`'s events stream to keep EVENTS_KEPT events. BullMQ
 * keeps that length in the queue's meta hash, which every Queue writes
 * when it connects; BullMQThreadPool has no option for it, so this runs
 * after the pool's Queue has connected.
 */
async function keepEvents(name) {
  const queue = new Queue(name, { connection, streams: { events: { maxLen: EVENTS_KEPT } } });
  while ((await queue.getMeta()).maxLenEvents !== EVENTS_KEPT) await sleep(10);
  await queue.close();
}

/** The adapter's caller, { add, spin, close }: deferToThreadPool on a BullMQThreadPool. */
async function adapterCaller(queueName) {
  const pool = new BullMQThreadPool({ queueName, connection, root: here });
  pool.start();
  const add = (a, b) => deferToThreadPool(reactor, pool, rt.add, a, b);
  await add(0, 1);  // (connected: its Queue has written the meta that keepEvents overrides)
  await keepEvents(queueName);
  return { add, spin: (rounds) => deferToThreadPool(reactor, pool, rt.spin, rounds), close: () => pool.stop() };
}

/** Plain BullMQ's caller, { add, spin, close }: Queue.add, and the outcome from QueueEvents. */
async function plainCaller(queueName) {
  const queue = new Queue(queueName, { connection, streams: { events: { maxLen: EVENTS_KEPT } } });
  await keepEvents(queueName);  // (here, only to wait until the length is written)
  const events = new QueueEvents(queueName, { connection });
  // Until its QueueEvents reads, as the adapter's pool waits: its first read starts
  // from the newest event, and a job that ended before it would never be heard of.
  const producer = new QueueEventsProducer(queueName, { connection });
  const heard = new Promise((resolve) => events.once('bench:hello', resolve));
  for (let done = false; !done;) {
    await producer.publishEvent({ eventName: 'bench:hello' }, EVENTS_KEPT);
    done = await Promise.race([heard.then(() => true), sleep(50).then(() => false)]);
  }
  await producer.close();
  const options = { removeOnComplete: KEEP, removeOnFail: KEEP };
  let send;
  if (waiter === 'until-finished') {
    send = async (name, data) => (await queue.add(name, data, options)).waitUntilFinished(events);
  } else {
    const pending = new Map();
    const settle = (jobId, how, value) => { pending.get(jobId)?.[how](value); pending.delete(jobId); };
    events.on('completed', ({ jobId, returnvalue }) => settle(jobId, 'resolve', returnvalue));
    events.on('failed', ({ jobId, failedReason }) => settle(jobId, 'reject', new Error(failedReason)));
    let next = 0;
    send = (name, data) => new Promise((resolve, reject) => {
      // (Our own id, known before the add: its event may come before add() resolves.)
      const jobId = `j${++next}`;
      pending.set(jobId, { resolve, reject });
      queue.add(name, data, { ...options, jobId }).catch((e) => settle(jobId, 'reject', e));
    });
  }
  return {
    add: (a, b) => send('add', { a, b }),
    spin: (rounds) => send('spin', { rounds }),
    close: async () => { await events.close(); await queue.close(); },
  };
}

// ---- phases ---------------------------------------------------------------------

/**
 * Runs `run` (`jobs` jobs on `worker`'s queue) and adds to its figures the
 * CPU time each process spent meanwhile, in µs per job (the caller; the
 * worker, all its threads and its main thread alone; redis-server), the
 * worker's event-loop delays, and the stalled jobs, lock renewal failures
 * and errors it saw.
 */
async function measured(worker, jobs, run) {
  await worker.measureStart();
  const caller0 = process.cpuUsage();
  const redis0 = redis.cpuMs();
  const figures = await run();
  const caller = process.cpuUsage(caller0);
  const redisMs = redis.cpuMs() - redis0;
  const w = await worker.measureStop();
  const perJob = (ms) => (ms * 1000) / jobs;
  return {
    ...figures,
    cpuCallerUs: perJob((caller.user + caller.system) / 1000), cpuWorkerUs: perJob(w.cpuMs),
    cpuWorkerMainUs: perJob(w.mainCpuMs), cpuRedisUs: perJob(redisMs),
    loopP99Ms: w.loop.p99, loopMaxMs: w.loop.max, ...w.events,
  };
}

/** `n` calls of add at once: jobs/s, and the p50 of their round trips (ms). */
async function burst(caller, n) {
  const lat = new Float64Array(n);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => {
    const sent = performance.now();
    return caller.add(i, 1).then((r) => {
      if (r !== i + 1) throw new Error(`add(${i}, 1) gave ${r}`);
      lat[i] = performance.now() - sent;
    });
  }));
  return { jobsPerSec: n / ((performance.now() - t0) / 1000), burstP50Ms: pct(lat, 0.5) };
}

/** `n` calls of add, one at a time: p50 and p99 round trip (ms). */
async function sequential(caller, n) {
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const sent = performance.now();
    const r = await caller.add(i, 1);
    lat[i] = performance.now() - sent;
    if (r !== i + 1) throw new Error(`add(${i}, 1) gave ${r}`);
  }
  return { seqP50Ms: pct(lat, 0.5), seqP99Ms: pct(lat, 0.99) };
}

/** `n` spin jobs at once: wall time and jobs/s. */
async function cpuJobs(caller, n, rounds, expected) {
  const t0 = performance.now();
  const digests = await Promise.all(Array.from({ length: n }, () => caller.spin(rounds)));
  const wallMs = performance.now() - t0;
  if (digests.some((d) => d !== expected)) throw new Error('a spin job gave a wrong digest');
  return { wallMs, jobsPerSec: n / (wallMs / 1000) };
}

/** Each round runs every contender once, in an order turned by one each round; the figures' medians. */
async function rounds(contenders, run) {
  const per = Object.fromEntries(contenders.map((c) => [c.key, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(k + r) % contenders.length];
      const what = `${c.label}, round ${r + 1}/${ROUNDS}`;
      log(what);
      per[c.key].push(await bounded(run(c), PHASE_LIMIT_MS, what));
    }
  }
  const out = {};
  for (const [key, runs] of Object.entries(per)) {
    out[key] = Object.fromEntries(Object.keys(runs[0]).map((f) => [f, median(runs.map((x) => x[f]))]));
    out[key].rounds = runs;
  }
  return out;
}

/** What a spin job takes on this thread at best (the fastest of 5, just before the phase), and its digest. */
function timeSpin(rounds) {
  spin(rounds);  // JIT
  const took = Array.from({ length: 5 }, () => { const t0 = performance.now(); spin(rounds); return performance.now() - t0; });
  return { taskMs: Math.min(...took), expected: spin(rounds) };
}

// ---- the run --------------------------------------------------------------------

const results = {
  machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` },
  date: new Date().toISOString(), redis: redisVersion, quick, rounds: ROUNDS, waiter, threads: THREADS, trivial: {}, cpu: undefined,
};
const tag = `${process.pid}-${Date.now().toString(36)}`;

try {
  for (const concurrency of CONCURRENCIES) {
    const profile = cpuProf && concurrency === 8 ? ['--cpu-prof', `--cpu-prof-dir=${resolve(cpuProf)}`] : [];
    const queues = Object.fromEntries(['adapter', 'plain', 'sandboxed'].map((m) => [m, `bench-add-${concurrency}-${m}-${tag}`]));
    const workers = await Promise.all([
      startWorker({ mode: 'adapter', queueName: queues.adapter, concurrency, threads: THREADS }, profile),
      startWorker({ mode: 'plain', queueName: queues.plain, concurrency }),
      startWorker({ mode: 'sandboxed', queueName: queues.sandboxed, concurrency }),
    ]);
    const contenders = [
      { key: 'adapter', label: `add, concurrency ${concurrency}: reactor-threads adapter`, worker: workers[0], caller: await adapterCaller(queues.adapter) },
      { key: 'plain', label: `add, concurrency ${concurrency}: plain BullMQ`, worker: workers[1], caller: await plainCaller(queues.plain) },
      // (BullMQ's own way off the main thread, for reference: the target is plain's.)
      { key: 'sandboxed', label: `add, concurrency ${concurrency}: BullMQ sandboxed`, worker: workers[2], caller: await plainCaller(queues.sandboxed) },
    ];
    // Warm-up: connections, JIT, the adapter's threads.
    for (const c of contenders) {
      await bounded(burst(c.caller, BURST).then(() => sequential(c.caller, 100)), PHASE_LIMIT_MS, `${c.label}, warm-up`);
    }
    results.trivial[`c${concurrency}`] = await rounds(contenders, async (c) => ({
      ...await measured(c.worker, BURST, () => burst(c.caller, BURST)), ...await sequential(c.caller, SEQ),
    }));
    await Promise.all(contenders.map((c) => c.caller.close()));
    await Promise.all(workers.map((w) => w.stop()));
  }

  const { taskMs, expected } = timeSpin(SPIN_ROUNDS);
  log(`cpu: ${SPIN_ROUNDS} sha256 rounds take ${taskMs.toFixed(1)} ms at best on the caller's main thread`);
  const modes = ['adapter', 'sandboxed', 'plain'];
  const queues = Object.fromEntries(modes.map((m) => [m, `bench-cpu-${m}-${tag}`]));
  const workers = Object.fromEntries(await Promise.all(modes.map(async (mode) =>
    [mode, await startWorker({ mode, queueName: queues[mode], concurrency: CPU_CONCURRENCY, threads: THREADS, watchStalled: true })])));
  const contenders = await Promise.all(modes.map(async (mode) => ({
    key: mode, label: `cpu: ${label(mode)}`, worker: workers[mode],
    caller: await (mode === 'adapter' ? adapterCaller : plainCaller)(queues[mode]),
  })));
  // Warm-up: threads started, the processor file loaded, the JIT.
  for (const c of contenders) await bounded(cpuJobs(c.caller, 2 * CPU_CONCURRENCY, SPIN_ROUNDS, expected), PHASE_LIMIT_MS, `${c.label}, warm-up`);
  results.cpu = {
    jobs: CPU_JOBS, concurrency: CPU_CONCURRENCY, spinRounds: SPIN_ROUNDS, taskMs,
    ...await rounds(contenders, (c) => measured(c.worker, CPU_JOBS, () => cpuJobs(c.caller, CPU_JOBS, SPIN_ROUNDS, expected))),
  };
  await Promise.all(contenders.map((c) => c.caller.close()));
  await Promise.all(Object.values(workers).map((w) => w.stop()));
} finally {
  await Promise.all([...children].map((child) => { child.kill('SIGKILL'); return new Promise((done) => child.once('exit', done)); }));
  await redis.stop();
}

// ---- report -----------------------------------------------------------------------

const fmt = (v) => (v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const row = (cells, widths) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' ');
const machine = `${results.machine.cpus} cores (${results.machine.model}, shared with Redis and the caller), Node ${process.version}, `
  + `redis ${redisVersion}, median of ${ROUNDS} round${ROUNDS > 1 ? 's' : ''}`;

for (const [key, r] of Object.entries(results.trivial)) {
  const w = [28, 10, 13, 11, 11, 34];
  console.log(`\nBullMQ trivial add(a, b), concurrency ${key.slice(1)}: ${BURST.toLocaleString('en-US')} in flight, then ${SEQ} one at a time`
    + ` (plain caller: ${waiter === 'listener' ? "one shared 'completed' listener" : 'job.waitUntilFinished'})`);
  console.log(row(['contender', 'jobs/s', 'burst p50 ms', 'seq p50 ms', 'seq p99 ms', 'CPU µs/job: call/wrk (main)/redis'], w));
  const figures = (x) => [fmt(x.jobsPerSec), fmt(x.burstP50Ms), fmt(x.seqP50Ms), fmt(x.seqP99Ms), cpuSplit(x)];
  console.log(row([`reactor-threads (${THREADS} threads)`, ...figures(r.adapter)], w));
  console.log(row(['plain BullMQ Worker', ...figures(r.plain)], w));
  console.log(row(['BullMQ sandboxed (threads)', ...figures(r.sandboxed)], w));
  const ratio = (base) => ({
    jobsPerSec: r.adapter.jobsPerSec / base.jobsPerSec, burstP50Ms: r.adapter.burstP50Ms / base.burstP50Ms,
    seqP50Ms: r.adapter.seqP50Ms / base.seqP50Ms, seqP99Ms: r.adapter.seqP99Ms / base.seqP99Ms,
  });
  r.ratio = ratio(r.plain);
  r.ratioSandboxed = ratio(r.sandboxed);
  console.log(row(['adapter ÷ plain', ...Object.values(r.ratio).map((x) => `${x.toFixed(2)}x`)], w));
  console.log(row(['adapter ÷ sandboxed', ...Object.values(r.ratioSandboxed).map((x) => `${x.toFixed(2)}x`)], w));
}
if (Object.keys(results.trivial).length > 0) {
  console.log('(CPU: time each process spent during the burst, per job: the caller (this process), the worker '
    + '(all threads, and its main thread alone), redis-server)');
}
if (results.cpu) {
  const c = results.cpu;
  const w = [31, 9, 8, 9, 22, 16, 13, 7];
  console.log(`\nBullMQ cpu: ${c.jobs} jobs of ${c.spinRounds.toLocaleString('en-US')} sha256 rounds `
    + `(${c.taskMs.toFixed(1)} ms at best on the caller's thread just before), concurrency ${c.concurrency}`);
  console.log(row(['contender', 'wall ms', 'jobs/s', '× inline', 'worker CPU ms/job (main)', 'loop p99/max ms', 'stalled/lock', 'errors'], w));
  for (const mode of ['adapter', 'sandboxed', 'plain']) {
    const x = c[mode];
    console.log(row([label(mode), fmt(x.wallMs), fmt(x.jobsPerSec), `${(x.jobsPerSec / c.plain.jobsPerSec).toFixed(2)}x`,
      `${fmt(x.cpuWorkerUs / 1000)} (${fmt(x.cpuWorkerMainUs / 1000)})`, `${fmt(x.loopP99Ms)} / ${fmt(x.loopMaxMs)}`,
      `${sum(x, 'stalled')} / ${sum(x, 'lockRenewalFailed')}`, sum(x, 'errors')], w));
  }
  console.log('(worker CPU: all its threads, and its main thread alone; loop: its main thread\'s event-loop delay; '
    + 'stalled/lock/errors: what BullMQ reported, summed over rounds)');
}
console.log(`\n${machine}.`);
if (cpuProf) {
  console.log(`Profiled run (--cpu-prof): figures not written; profiles in ${resolve(cpuProf)}.`);
} else {
  writeFileSync(join(here, 'results-bullmq.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log('Written: bench/results-bullmq.json');
}

function label(mode) {
  return { adapter: `reactor-threads (${THREADS} threads)`, sandboxed: 'sandboxed, useWorkerThreads', plain: 'inline processor (blocks loop)' }[mode];
}
function cpuSplit(x) {
  const us = (v) => (Number.isNaN(v) ? '?' : Math.round(v));
  return `${us(x.cpuCallerUs)} / ${us(x.cpuWorkerUs)} (${us(x.cpuWorkerMainUs)}) / ${us(x.cpuRedisUs)}`;
}
function sum(x, field) {
  return x.rounds.reduce((s, r) => s + r[field], 0);
}
