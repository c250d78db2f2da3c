// A worker process of bench/bullmq.mjs, one per contender, a process of
// its own as in production. Its options come as JSON in argv[2]:
//   { mode, queueName, connection, concurrency, threads, watchStalled }
// where mode is
//   adapter    serveBullMQ: jobs are taken on this main thread and run on
//              a local ThreadPool of `threads` threads
//   plain      a BullMQ Worker whose processor runs the job body inline,
//              on this main thread
//   sandboxed  a BullMQ Worker with a processor file run in worker threads
//              (useWorkerThreads: true)
// and watchStalled counts the queue's 'stalled' events, which BullMQ writes
// to the queue's event stream for every kind of worker (the adapter's
// Worker is not ours to listen to); it reads every event of the queue, so
// only phases of few jobs use it.
// It talks to its parent over IPC: it sends { ready: true } once it takes
// jobs; 'measure-start' starts a measurement (it replies { started: true }),
// and 'measure-stop' replies with what happened since:
//   cpuMs, mainCpuMs  this process's CPU time: all threads, the main thread
//   loop              the main thread's event-loop delays (p50, p99, max; ms)
//   events            stalled jobs (with watchStalled), lock renewal failures
//                     (the adapter reports them as errors) and errors
// On 'close' it closes and exits. It exits too when the parent goes away
// (the IPC channel closes), so no worker outlives a crashed bench.
// Main thread of the worker process.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueEvents, Worker } from 'bullmq';
import { serveBullMQ } from 'reactor-threads/bullmq';
import { add, spin } from './_bullmq-tasks.mjs';
import { cpuMsOf } from './_proc-cpu.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { mode, queueName, connection, concurrency, threads, watchStalled } = JSON.parse(process.argv[2]);
const events = { stalled: 0, lockRenewalFailed: 0, errors: 0 };
const noteError = (e) => {
  events.errors++;
  process.stderr.write(`bench worker (${mode}): ${e?.stack ?? e}\n`);
};

/** Starts the contender; resolves with its close(). */
async function start() {
  const stalled = watchStalled ? new QueueEvents(queueName, { connection }) : undefined;
  stalled?.on('stalled', () => { events.stalled++; });
  stalled?.on('error', noteError);
  await stalled?.waitUntilReady();
  const serve = await startContender();
  return async () => { await serve(); await stalled?.close(); };
}

async function startContender() {
  if (mode === 'adapter') {
    // The adapter's BullMQ Worker is its own: its errors reach us as warnings.
    process.on('warning', (w) => { if (w.message.includes('reactor-threads/bullmq')) noteError(w); });
    const server = serveBullMQ({ queueName, connection, allow: ['./_bullmq-rt-tasks.mjs'], root: here, threads, concurrency });
    await server.ready;
    return () => server.close();
  }
  const processor = mode === 'sandboxed'
    ? fileURLToPath(new URL('./_bullmq-processor.mjs', import.meta.url))
    : async (job) => (job.name === 'spin' ? spin(job.data.rounds) : add(job.data.a, job.data.b));
  const worker = new Worker(queueName, processor, { connection, concurrency, useWorkerThreads: mode === 'sandboxed' });
  worker.on('lockRenewalFailed', (ids) => { events.lockRenewalFailed += ids.length; });
  worker.on('error', noteError);
  await worker.waitUntilReady();
  return () => worker.close();
}

const close = await start();
const loop = monitorEventLoopDelay({ resolution: 10 });
let cpuFrom, mainFrom;
process.on('message', async (msg) => {
  if (msg === 'measure-start') {
    for (const k of Object.keys(events)) events[k] = 0;
    loop.reset();
    loop.enable();
    cpuFrom = process.cpuUsage();
    mainFrom = cpuMsOf(process.pid, process.pid);
    process.send({ started: true });
  } else if (msg === 'measure-stop') {
    const cpu = process.cpuUsage(cpuFrom);
    loop.disable();
    const ms = (ns) => ns / 1e6;
    process.send({
      cpuMs: (cpu.user + cpu.system) / 1000,
      mainCpuMs: cpuMsOf(process.pid, process.pid) - mainFrom,
      loop: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
      events: { ...events },
    });
  } else if (msg === 'close') {
    await close();
    // (process.exit, not a signal: a --cpu-prof profile is written on exit.)
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(1));
process.send({ ready: true });
