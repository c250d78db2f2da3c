// What one trivial job costs, accounted deterministically: the adapter
// (BullMQThreadPool + serveBullMQ) against plain BullMQ (Queue.add + one
// shared QueueEvents listener, an inline Worker), on a redis-server of our
// own. For each contender, N calls of add(a, b) in flight at concurrency C:
//   redis    commands per job by name (INFO commandstats, which counts the
//            commands Lua scripts call too), bytes per job on the wire
//            (total_net_input/output_bytes), and what a finished job
//            stores: its hash's fields and the events it wrote
//   cpu      µs per job of the caller, the worker (all threads, main
//            thread) and redis-server
// and, with --monitor, Redis's MONITOR of 3 calls, one at a time.
// Counts are exact; CPU figures are as noisy as the machine.
//
// Run: node bench/bullmq-cost.mjs [--jobs=N] [--concurrency=C] [--rounds=R] [--monitor]
//        [--only=adapter|plain] [--cpu-prof=DIR]
// WORKER_ARGS='--trace-gc' (space-separated) gives the worker processes
// Node flags that NODE_OPTIONS refuses.
import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, QueueEventsProducer } from 'bullmq';
import { Redis } from 'ioredis';
import { deferToThreadPool, reactor } from 'reactor-threads';
import { BullMQThreadPool } from 'reactor-threads/bullmq';
import * as rt from './_bullmq-rt-tasks.mjs';
import { findRedisServer, startRedis } from './_redis.mjs';
import { cpuMsOf } from './_proc-cpu.mjs';

/** Voluntary context switches of process `pid`, all its threads (each a wait: a park, an epoll_wait that slept). */
function switches(pid) {
  let n = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      n += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? 0);
    }
  } catch { /* no /proc */ }
  return n;
}

/** CPU ms of each thread of process `pid`, by `name/tid` (/proc: the main thread, pool threads, V8's, libuv's). */
function threadsCpu(pid) {
  const out = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out[`${name}/${tid}`] = cpuMsOf(pid, tid);
    }
  } catch { /* no /proc */ }
  return out;
}

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const JOBS = Number(arg('jobs') ?? 2000);
const CONCURRENCY = Number(arg('concurrency') ?? 8);
const ONLY = arg('only');
const MONITOR = process.argv.includes('--monitor');
/** Bursts per contender, alternating; CPU figures and jobs/s are their medians. */
const ROUNDS = Number(arg('rounds') ?? 1);
/** --cpu-prof=DIR: profiles the caller (this process, from the start) and the workers into DIR. */
const PROF = arg('cpu-prof');
const KEEP = { age: 3600, count: 10_000 };
const log = (s) => process.stderr.write(`bullmq-cost: ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const binary = findRedisServer();
if (!binary) { log('no redis-server'); process.exit(0); }
const children = new Set();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });
const redis = await startRedis(binary);
const { connection } = redis;
const admin = new Redis({ ...connection, maxRetriesPerRequest: null });

function startWorker(options) {
  const child = fork(join(here, '_bullmq-worker.mjs'), [JSON.stringify({ connection, ...options })],
    { stdio: 'inherit', execArgv: PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`] : (process.env.WORKER_ARGS?.split(' ').filter(Boolean) ?? []) });
  children.add(child);
  const next = () => new Promise((done) => child.once('message', done));
  const ask = (msg) => { const reply = next(); child.send(msg); return reply; };
  return next().then(() => ({
    pid: child.pid,
    measureStart: () => ask('measure-start'),
    measureStop: () => ask('measure-stop'),
    stop: () => { child.send('close'); return new Promise((done) => child.once('exit', done)); },
  }));
}

async function adapterCaller(queueName) {
  const pool = new BullMQThreadPool({ queueName, connection, root: here });
  pool.start();
  return { add: (a, b) => deferToThreadPool(reactor, pool, rt.add, a, b), close: () => pool.stop() };
}

async function plainCaller(queueName) {
  const queue = new Queue(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  const producer = new QueueEventsProducer(queueName, { connection });
  const heard = new Promise((resolve) => events.once('bench:hello', resolve));
  for (let done = false; !done;) {
    await producer.publishEvent({ eventName: 'bench:hello' });
    done = await Promise.race([heard.then(() => true), sleep(50).then(() => false)]);
  }
  await producer.close();
  const pending = new Map();
  const settle = (jobId, how, value) => { pending.get(jobId)?.[how](value); pending.delete(jobId); };
  events.on('completed', ({ jobId, returnvalue }) => settle(jobId, 'resolve', returnvalue));
  events.on('failed', ({ jobId, failedReason }) => settle(jobId, 'reject', new Error(failedReason)));
  let next = 0;
  const options = { removeOnComplete: KEEP, removeOnFail: KEEP };
  return {
    add: (a, b) => new Promise((resolve, reject) => {
      const jobId = `j${++next}`;
      pending.set(jobId, { resolve, reject });
      queue.add('add', { a, b }, { ...options, jobId }).catch((e) => settle(jobId, 'reject', e));
    }),
    close: async () => { await events.close(); await queue.close(); },
  };
}

/** INFO section `section` as { field: value } (commandstats: { cmd: calls }). */
async function info(section) {
  const text = await admin.info(section);
  const out = {};
  for (const line of text.split('\r\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
    else if (line.includes(':') && !line.startsWith('#')) { const [k, v] = line.split(':'); out[k] = Number(v); }
  }
  return out;
}

async function burst(caller, n) {
  await Promise.all(Array.from({ length: n }, (_, i) => caller.add(i, 1).then((r) => {
    if (r !== i + 1) throw new Error(`add(${i}, 1) gave ${r}`);
  })));
}

/** What one finished job of queue `name` stores: its hash's field sizes, and its events. */
async function stored(name) {
  const keys = await admin.keys(`bull:${name}:*`);
  const jobKeys = keys.filter((k) => /^bull:[^:]+:[^:]+$/.test(k) && !/:(meta|events|id|completed|failed|wait|active|stalled-check|marker|prioritized|delayed|paused|pc|limiter)$/.test(k));
  // (The last job: the events stream keeps only the newest events.)
  const suffix = (k) => Number(/(\d+)$/.exec(k)?.[1] ?? 0);
  const sample = jobKeys.sort((a, b) => suffix(a) - suffix(b)).at(-1);
  const fields = sample ? await admin.hgetall(sample) : {};
  const memory = sample ? await admin.memory('USAGE', sample) : 0;
  const entries = await admin.xrange(`bull:${name}:events`, '-', '+');
  const ofJob = entries.filter(([, kv]) => kv[kv.indexOf('jobId') + 1] === sample?.split(':').pop());
  const eventBytes = ofJob.reduce((s, [, kv]) => s + kv.join('').length, 0);
  return {
    key: sample, memoryUsage: memory, fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.length])),
    fieldText: fields, events: ofJob.map(([, kv]) => kv[1]), eventBytes, otherKeys: keys.filter((k) => !jobKeys.includes(k)),
  };
}

/** A contender's worker process and caller, warmed up. */
async function setUp(key) {
  const queueName = `cost-${key}-${Date.now().toString(36)}`;
  const worker = await startWorker({ mode: key, queueName, concurrency: CONCURRENCY, threads: 2 });
  const caller = await (key === 'adapter' ? adapterCaller : plainCaller)(queueName);
  await burst(caller, 500);  // warm-up
  if (MONITOR) {
    const mon = await admin.duplicate().monitor();
    const lines = [];
    mon.on('monitor', (time, args, source) => lines.push(`${source.padEnd(22)} ${args.map((a) => (a.length > 60 ? `${a.slice(0, 57)}...(${a.length})` : a)).join(' ')}`));
    await sleep(100);
    for (let i = 0; i < 3; i++) await caller.add(i, 1);
    await sleep(300);
    mon.disconnect();
    console.log(`\n--- MONITOR, 3 calls one at a time: ${key} ---\n${lines.join('\n')}`);
  }
  return { key, queueName, worker, caller };
}

/** One burst of JOBS calls through contender `c`: its figures. */
async function measure(c) {
  const { worker, caller } = c;
  await sleep(200);
  const per = (x) => x / JOBS;
  await admin.config('RESETSTAT');
  await worker.measureStart();
  const threads0 = threadsCpu(worker.pid);
  const switches0 = [process.pid, worker.pid, redis.pid].map(switches);
  const caller0 = process.cpuUsage();
  const redis0 = redis.cpuMs();
  const t0 = performance.now();
  await burst(caller, JOBS);
  const wall = performance.now() - t0;
  const callerCpu = process.cpuUsage(caller0);
  const redisMs = redis.cpuMs() - redis0;
  const threads1 = threadsCpu(worker.pid);
  const [callerSw, workerSw, redisSw] = [process.pid, worker.pid, redis.pid].map((pid, i) => per(switches(pid) - switches0[i]));
  const w = await worker.measureStop();
  const workerThreads = Object.fromEntries(Object.entries(threads1).map(([k, v]) => [k, per((v - (threads0[k] ?? 0)) * 1000)])
    .filter(([, v]) => v > 0));
  const cmds = await info('commandstats');
  const stats = await info('stats');
  return {
    jobsPerSec: JOBS / (wall / 1000),
    cpu: { caller: per((callerCpu.user + callerCpu.system)), worker: per(w.cpuMs * 1000), workerMain: per(w.mainCpuMs * 1000), redis: per(redisMs * 1000) },
    commands: Object.fromEntries(Object.entries(cmds).filter(([k]) => !['info', 'config|resetstat'].includes(k)).map(([k, v]) => [k, per(v)])),
    workerThreads,
    switches: { caller: callerSw, worker: workerSw, redis: redisSw },
    netInPerJob: per(stats.total_net_input_bytes), netOutPerJob: per(stats.total_net_output_bytes),
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
try {
  const contenders = [];
  for (const key of ['adapter', 'plain']) if (!ONLY || ONLY === key) { log(`${key}: setting up`); contenders.push(await setUp(key)); }
  const runs = Object.fromEntries(contenders.map((c) => [c.key, []]));
  for (let r = 0; r < ROUNDS; r++) {
    // (Alternating, the order turned each round: the machine's load changes by the minute.)
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(k + r) % contenders.length];
      log(`${c.key}: round ${r + 1}/${ROUNDS}`);
      runs[c.key].push(await measure(c));
    }
  }
  for (const c of contenders) {
    const last = runs[c.key].at(-1);
    results[c.key] = {
      ...last,
      jobsPerSec: median(runs[c.key].map((x) => x.jobsPerSec)),
      cpu: Object.fromEntries(Object.keys(last.cpu).map((f) => [f, median(runs[c.key].map((x) => x.cpu[f]))])),
      switches: Object.fromEntries(Object.keys(last.switches).map((f) => [f, median(runs[c.key].map((x) => x.switches[f]))])),
      store: await stored(c.queueName),
    };
    await c.caller.close();
    await c.worker.stop();
  }
} finally {
  admin.disconnect();
  await redis.stop();
}
for (const [key, r] of Object.entries(results)) {
  const total = Object.values(r.commands).reduce((s, x) => s + x, 0);
  console.log(`\n=== ${key}: ${JOBS} jobs, concurrency ${CONCURRENCY}: ${Math.round(r.jobsPerSec)} jobs/s (median of ${ROUNDS}) ===`);
  console.log(`CPU µs/job: caller ${r.cpu.caller.toFixed(0)}, worker ${r.cpu.worker.toFixed(0)} (main ${r.cpu.workerMain.toFixed(0)}), redis ${r.cpu.redis.toFixed(0)}`);
  console.log(`voluntary context switches/job: caller ${r.switches.caller.toFixed(2)}, worker ${r.switches.worker.toFixed(2)}, redis ${r.switches.redis.toFixed(2)}`);
  console.log(`worker threads, CPU µs/job: ${Object.entries(r.workerThreads).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
  console.log(`commands/job (incl. those scripts call): ${total.toFixed(2)}`);
  for (const [c, n] of Object.entries(r.commands).sort((a, b) => b[1] - a[1])) if (n >= 0.005) console.log(`  ${c.padEnd(22)} ${n.toFixed(3)}`);
  console.log(`bytes/job on the wire: to redis ${r.netInPerJob.toFixed(0)}, from redis ${r.netOutPerJob.toFixed(0)}`);
  console.log(`a finished job (${r.store.key}): MEMORY USAGE ${r.store.memoryUsage} B; fields (chars): ${JSON.stringify(r.store.fields)}`);
  console.log(`  data: ${r.store.fieldText.data}\n  opts: ${r.store.fieldText.opts}\n  returnvalue: ${r.store.fieldText.returnvalue}`);
  console.log(`  its events: ${r.store.events.join(', ')} (${r.store.eventBytes} chars)`);
  console.log(`  queue keys other than jobs: ${r.store.otherKeys.join(' ')}`);
}
// (Clients of the closed contenders may still hold handles.)
process.exit(0);
