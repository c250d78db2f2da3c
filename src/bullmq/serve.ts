// serveBullMQ: a worker process's side of BullMQThreadPool. A BullMQ
// Worker takes jobs on this process's main thread, which only checks them
// (format, allow list) and hands them to a local ThreadPool; the function
// runs in a pool thread (job-runner.ts). So a CPU-heavy function never
// blocks the main thread, and BullMQ's lock renewal never stalls behind
// it (the reason BullMQ's sandboxed processors exist).
//
// Outcomes: the job's return value (JobResult), or a thrown Error whose
// message is a failure reason carrying the encoded failure
// (remote-codec.ts); a failure no retry can change (a refused module, an
// unreadable payload, a cancelled call, an error class marked with
// notRetryable) is thrown as BullMQ's UnrecoverableError, by name.
// Worker's main thread. Tests: test/bullmq-*.ts.
import { availableParallelism, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConnectionOptions, Job, QueueEvents, QueueEventsListener, QueueEventsOptions, Worker } from 'bullmq';
import { CancelledError, PayloadTooLargeError, UnreadablePayloadError } from '../errors/errors.js';
import { fromModule } from '../identity/functions.js';
import { kAbort, kCancel, kSubmit, kTimeouts, ThreadPool } from '../pool/threadpool.js';
import type { ThreadPoolOptions } from '../base/public/pool.js';
import { checkTimeout } from '../pool/call-options.js';
import { bullmq } from './bullmq-module.js';
import { AllowList, keyToPortable, PortableResolver } from './portable.js';
import { localFunction } from './remote-functions.js';
import { checkVersion, encodeFailure, failureReason, WIRE_VERSION, type JobCall, type JobResult } from './remote-codec.js';
import { retryable, type JobOutcome, type JobRun, type runJob } from './job-runner.js';
import { JobDispatcher } from './job-dispatch.js';
import { CANCEL_EVENT, controlQueueName, readControlEvents, serverNowMs } from './control.js';
import { bounded, boundedUntil, endClients, refusedCredentials } from './connections.js';

export interface ServeBullMQOptions {
  /** The queue to serve: the queueName of the callers' BullMQThreadPool. */
  queueName: string;
  /** How to reach Redis (as BullMQThreadPool's). */
  connection: ConnectionOptions;
  /**
   * The modules whose functions may run here, relative to `root`:
   * `./dist/tasks.js` (a file), `./dist/tasks/` (a folder and what is
   * under it), `lodash` (a package), `node:zlib` (a built-in). Anything
   * else is refused with a ModuleNotAllowedError, never loaded.
   */
  allow: readonly string[];
  /** Threads of the local pool. Default: os.availableParallelism(). */
  threads?: number;
  /** Jobs taken at once. Default: `threads` (a job taken is a job running; others stay for other workers). */
  concurrency?: number;
  /** The app root, where modules are found (see BullMQThreadPoolOptions.root). Default: process.cwd(). */
  root?: string;
  /** The queue's key prefix in Redis. Default 'bull'. */
  prefix?: string;
  /**
   * The largest encoded arguments a job may carry (a larger job fails
   * with a PayloadTooLargeError before a thread reads it), and the largest
   * encoded result sent back. Default 1 MiB.
   */
  maxPayloadBytes?: number;
  /**
   * BullMQ's lock: a job whose worker dies returns to the queue once its
   * lock (lockDuration ms) runs out and a stalled-job check (every
   * stalledInterval ms) finds it. Defaults 30,000 and 30,000; a job may be
   * found stalled maxStalledCount times (default 1) before it fails.
   * lockDuration also bounds close()'s wait for the active jobs.
   */
  lockDuration?: number;
  stalledInterval?: number;
  maxStalledCount?: number;
  /** Other options of the local ThreadPool (execArgv, preload, resourceLimits, ...). */
  pool?: Omit<ThreadPoolOptions, 'maxThreads'>;
}

export interface BullMQServer {
  /** Resolves once the worker is connected and taking jobs; rejects if it cannot connect. */
  readonly ready: Promise<void>;
  /** The local pool the jobs run on. */
  readonly pool: ThreadPool;
  /** Jobs finished here, by outcome. */
  stats(): { active: number; completed: number; failed: number; cancelled: number };
  /**
   * Stops taking jobs, lets the active ones finish, then stops the pool and
   * closes the connections. It waits for active jobs up to `lockDuration`:
   * those still running then are cancelled, and their jobs left to BullMQ's
   * stalled-job check, which gives them to another worker, as a dead
   * worker's.
   */
  close(): Promise<void>;
}

interface CancelListener extends QueueEventsListener {
  [CANCEL_EVENT]: (args: { jobId: string }) => void;
}

/** A run of a job here (one processJob call). */
interface Run {
  /** Cancels it as a caller's cancel does: it fails now, and its thread is ended if it runs on past cancelGrace. */
  cancel(reason: unknown): void;
  /** Asks its task to abort by its signal alone: it ends when its task does, and its thread is never ended for it. */
  abort(reason: unknown): void;
  /** The run of the same job that this worker took after this one lost the job's lock. */
  later?: Run;
  /** Settles once its processJob has returned (or thrown). */
  returned?: Promise<void>;
}

const DEFAULT_LIMIT = 1024 * 1024;
const RUN_JOB = fromModule<typeof runJob>(pathToFileURL(join(__dirname, 'job-runner.js')).href, 'runJob');
/** How long a cancellation that arrived before its job waits for it. */
const EARLY_CANCEL_MS = 60_000;
/**
 * How long a job whose run ended here stays counted as unwritten without
 * BullMQ's 'completed' or 'failed' for it. Those follow the write at
 * once; a write BullMQ could not make (its lock lost, or its job gone
 * with a Redis that restarted empty) emits only an 'error', and such
 * jobs would pile up for the life of the worker.
 */
const UNWRITTEN_FORGET_MS = 60_000;
/** BullMQ's default lockDuration (ms): close()'s bound on its wait for active jobs. */
const DEFAULT_LOCK_MS = 30_000;

export function serveBullMQ(options: ServeBullMQOptions): BullMQServer {
  if (typeof options !== 'object' || options === null) throw new TypeError('serveBullMQ(options): options must be an object');
  const { queueName, connection } = options;
  if (typeof queueName !== 'string' || queueName === '') throw new TypeError('options.queueName must be a non-empty string');
  if (typeof connection !== 'object' || connection === null) throw new TypeError('options.connection must be an object');
  const root = resolve(options.root ?? process.cwd());
  const allow = new AllowList(options.allow, root);
  const local = new PortableResolver(root);
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError('options.threads must be an integer >= 1');
  const concurrency = options.concurrency ?? threads;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('options.concurrency must be an integer >= 1');
  const limit = options.maxPayloadBytes ?? DEFAULT_LIMIT;
  if (!(limit > 0)) throw new RangeError('options.maxPayloadBytes must be a number > 0');
  // (BullMQ arms timers with both, and close() waits lockDuration: above MAX_TIMER_MS they would fire at once.)
  if (options.lockDuration !== undefined) checkTimeout('options.lockDuration', options.lockDuration);
  if (options.stalledInterval !== undefined) checkTimeout('options.stalledInterval', options.stalledInterval);
  const worker = `${hostname()} pid ${process.pid}`;
  /** How long close() waits for the active jobs' runs (see there). */
  const closeWaitMs = options.lockDuration ?? DEFAULT_LOCK_MS;
  const portableKey = (key: string): string => keyToPortable(key, root);

  // (Loaded before the local pool starts: without the package, nothing is left running.)
  const { Worker: BullWorker, QueueEvents: BullQueueEvents } = bullmq();

  const pool = new ThreadPool({ ...options.pool, maxThreads: threads, name: options.pool?.name ?? `bullmq:${queueName}` });
  pool.start();
  /** Jobs taken here and not finished, by id: each one's latest run here. */
  const active = new Map<string, Run>();
  /**
   * Jobs whose run ended here and whose outcome BullMQ has not written to
   * Redis yet, with when their run ended, oldest first (close() waits for
   * them, within a bound).
   */
  const unwritten = new Map<string, number>();
  const endedRun = (id: string): void => {
    // (A monotonic clock: the entries' times must rise in the Map's order.)
    const now = performance.now();
    for (const [old, at] of unwritten) {
      if (now - at < UNWRITTEN_FORGET_MS) break;
      unwritten.delete(old);
    }
    unwritten.delete(id);
    unwritten.set(id, now);
  };
  /** Cancellations of jobs not (yet) active here, by id, with when they came. */
  const early = new Map<string, number>();
  const counts = { completed: 0, failed: 0, cancelled: 0 };

  /** A failure for BullMQ: its reason carries the encoded failure; an Unrecoverable one is never retried. */
  function failure(summary: string, encoded: string, retry: boolean): Error {
    const e = new Error(failureReason(summary, encoded));
    if (!retry) e.name = 'UnrecoverableError';
    // The failure's own stack crosses in its reason. BullMQ keeps a thrown error's stack in the job's
    // stacktrace, unless the job says stackTraceLimit: 0 (which every job would then carry): this one's
    // is this main thread's, of no use to anyone, so there is none to keep.
    e.stack = '';
    return e;
  }
  /** A failure met on this thread (the job refused, or its local call failed). */
  function localFailure(e: unknown, label: string, retry = retryable(e)): Error {
    const summary = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return failure(summary, encodeFailure(e, portableKey, `${label} on worker ${worker}`), retry);
  }

  // (The pool's internals: a job is a bare task, without deferToThreadPool's per-call objects.)
  const dispatcher = new JobDispatcher({
    // (Cuttable: any job may be cancelled, by its caller or a lost lock.)
    submit: (run, sink) => pool[kSubmit](RUN_JOB, run, sink, false, undefined, undefined, true),
    cancel: (taskId, reason) => pool[kCancel](taskId, reason),
    abort: (taskId, reason) => pool[kAbort](taskId, reason),
    timeout: (taskId, runTimeout) => pool[kTimeouts](taskId, undefined, runTimeout),
  });

  // (No third parameter: BullMQ then makes no AbortController per job. Its signal aborts only on the
  // Worker's cancelJob(), and this Worker is nobody else's: cancellations come by the control queue.)
  function processJob(job: Job<JobCall>): Promise<JobResult> {
    // Its cancellers: until its task is submitted (within this turn:
    // nothing can call them), ones that do nothing.
    const run: Run = { cancel: () => {}, abort: () => {} };
    const returned = processRun(job, run);
    run.returned = returned.then(() => {}, () => {});
    return returned;
  }

  async function processRun(job: Job<JobCall>, run: Run): Promise<JobResult> {
    const id = job.id!;
    // A job whose lock was lost (its worker's loop stalled past
    // lockDuration, Redis lost the key) is given back by BullMQ's
    // stalled-job check, and may be taken here again while its earlier run
    // goes on. The later run is the job's now: the caller's cancel and
    // lockRenewalFailed reach it (this map's entry, and the one lock per job
    // id that BullMQ renews). The earlier run must still be stopped (it would
    // run on, never aborted, and close() would wait for it), by its signal
    // alone: a cancel that outlasts cancelGrace ends its thread, which the
    // later run may share (helper-119's review of 622c8b4: 5 of 5).
    const earlier = active.get(id);
    active.set(id, run);
    if (earlier) {
      earlier.later = run;
      earlier.abort(new CancelledError('the job\'s lock was lost, and this worker took the job again'));
    }
    const label = typeof job.data?.l === 'string' ? job.data.l : job.name;
    try {
      let call: JobRun;
      try {
        checkVersion(job.data?.v, `job ${id}`);
        const { f, j, a, x, node, o } = job.data;
        const d = localFunction(f, label, allow, local);
        const name = d.kind === 'threadable' ? d.key.slice(d.url.length + 1) : d.exportName;
        const json = typeof j === 'string';
        const args = json ? j : a;
        if (typeof args !== 'string') throw new UnreadablePayloadError('the job carries no arguments');
        // (Measured as the caller measures them, before a thread reads them: a job written by other means
        // than a caller's pool, whose `j` of 200 MB went to a thread and was parsed whatever this limit.)
        if (args.length > limit) throw new PayloadTooLargeError('the arguments', args.length, limit);
        call = [d.kind === 'threadable' ? 't' : 'e', d.url, name, label, args, json ? 'j' : x === 1 ? 'R' : 'r',
          o?.flatten === true, root, String(node), limit, worker];
        // (A caller checked it with .with(); a job written by anyone else is checked here, failing the job
        // alone: a runTimeout above MAX_TIMER_MS re-armed a 1 ms timer in a loop, one of -1 or 'x' ended it at once.)
        if (o?.runTimeout !== undefined) checkTimeout('options.runTimeout', o.runTimeout);
      } catch (e) {
        // (Not retried: every worker of a queue should read the same jobs and allow the same modules.)
        throw localFailure(e, label, false);
      }
      let out: JobOutcome;
      try {
        const dispatched = dispatcher.dispatch(call, job.data.o?.runTimeout);
        run.cancel = dispatched.cancel;
        run.abort = dispatched.abort;
        if (early.delete(id)) dispatched.cancel(new CancelledError('the caller cancelled the call'));
        out = await dispatched.outcome;
      } catch (e) {
        // (A run this worker took the job from is not the job's outcome: stats() counts jobs.)
        if (e instanceof CancelledError && !run.later) counts.cancelled++;
        throw localFailure(e, label);
      }
      if (typeof out !== 'string') throw failure(out.summary, out.e, out.retry);
      const result: JobResult = { v: WIRE_VERSION };
      if (out[0] === 'j') {
        result.j = out.slice(1);
      } else if (out[0] !== 'u') {
        result.r = out.slice(1);
        result.w = worker;
        if (out[0] === 'R') result.x = 1;
      }
      return result;
    } finally {
      if (active.get(id) === run) active.delete(id);
      if (run.later) {
        // Taken again here: BullMQ's bookkeeping of the job is the later
        // run's. This run's return would end it: BullMQ then stops renewing
        // the job's lock (it tracks one lock per job id), and the later run
        // loses the job to the stalled-job check. So this one returns after
        // the later one (its outcome is then refused: the lock is not its own).
        await run.later.returned;
      } else {
        // (Before BullMQ has the outcome: it writes it next.)
        endedRun(id);
      }
      // The run this one took the job from, stopped by its signal alone
      // while this one went, is cancelled now as any other: it fails at once,
      // and if it still runs after cancelGrace its thread is ended, which no
      // later run of the job shares any more.
      earlier?.cancel(new CancelledError('the job\'s lock was lost, and this worker took the job again'));
    }
  }

  const base = { connection, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) };
  const bull: Worker<JobCall, JobResult> = new BullWorker<JobCall, JobResult>(queueName, processJob, {
    ...base,
    concurrency,
    autorun: false,
    ...(options.lockDuration === undefined ? {} : { lockDuration: options.lockDuration }),
    ...(options.stalledInterval === undefined ? {} : { stalledInterval: options.stalledInterval }),
    ...(options.maxStalledCount === undefined ? {} : { maxStalledCount: options.maxStalledCount }),
  });
  bull.on('lockRenewalFailed', (jobIds: string[]) => {
    // The job is no longer this worker's (Redis lost it, or another worker took it as stalled): stop its task.
    for (const id of jobIds) active.get(id)?.cancel(new CancelledError('the job\'s lock was lost'));
  });
  // (These come once a job's outcome is written to Redis.)
  bull.on('completed', (job) => { counts.completed++; unwritten.delete(job.id!); });
  bull.on('failed', (job) => { counts.failed++; if (job) unwritten.delete(job.id!); });
  // It reads from a minute back (by the stream's ids, Redis's clock in ms), not from its newest event: a
  // reader is ready before its first read, and a cancellation published in between, or while this worker
  // was starting, would be missed; one for a job this worker takes later is kept as early (EARLY_CANCEL_MS).
  // (Set once Redis's clock is read, before the reader's first run.)
  const control: QueueEvents = new BullQueueEvents(controlQueueName(queueName), { ...base, autorun: false, lastEventId: '$' });
  control.on<CancelListener>(CANCEL_EVENT, ({ jobId }: { jobId: string }) => {
    const run = active.get(jobId);
    run?.cancel(new CancelledError('the caller cancelled the call'));
    // Kept as early with a run too: the job may already be back in the
    // queue (its lock lost) and be taken here again, a run the cancel did
    // not reach (helper-123's review).
    const now = Date.now();
    early.set(jobId, now);
    for (const [jid, at] of early) if (now - at > EARLY_CANCEL_MS) early.delete(jid);
  });
  // (ioredis reconnects by itself; without a listener its errors would end the process.)
  const onError = (e: unknown): void => { process.emitWarning(`reactor-threads/bullmq worker: ${String(e)}`); };
  bull.on('error', onError);
  control.on('error', onError);
  let closing: Promise<void> | undefined;
  // (Run again whenever it ends before close(): an entry it could not parse ended it for good.)
  const controlRead = (async () => {
    let now: number;
    try {
      now = await serverNowMs(control);
    } catch {
      // (Redis refused the script: this machine's clock, the best left.)
      now = Date.now();
    }
    const from = `${now - EARLY_CANCEL_MS}-0`;
    (control.opts as QueueEventsOptions).lastEventId = from;
    if (closing === undefined) await readControlEvents(control, from, () => closing !== undefined, onError);
  })();
  controlRead.catch(onError);

  // (A wrong password left ready pending for ever, ioredis retrying in
  // silence, and the bin's 'cannot serve' unsaid: helper-160.)
  const credentialsRefused = new Promise<never>((_, reject) => {
    const onRefused = (e: unknown): void => { if (refusedCredentials(e)) reject(e); };
    bull.on('error', onRefused);
    control.on('error', onRefused);
  });
  credentialsRefused.catch(() => {});
  const ready = (async () => {
    await Promise.race([Promise.all([bull.waitUntilReady(), control.waitUntilReady()]), credentialsRefused]);
    bull.run().catch(() => {});
  })();
  ready.catch(() => {});

  return {
    ready,
    pool,
    stats: () => ({ active: active.size, ...counts }),
    close(): Promise<void> {
      closing ??= (async () => {
        // (Never ready while Redis is unreachable.)
        await bounded(ready);
        // It takes no more jobs; those active run to their end on the pool,
        // for up to lockDuration. Writing their outcomes needs Redis: that
        // part, and closing the connections, is bounded, so a worker whose
        // Redis died still closes (its jobs' outcomes lost, BullMQ's
        // stalled-job check gives them to another worker).
        // Paused, it fetches no job and its stalled-job check stops. Its
        // jobs run to their end; their outcomes are written (within a
        // bound); then a forced close, which unlike a graceful one does
        // not wait for the fetch loop, which waits for Redis.
        void bull.pause(true).catch(() => {});
        const quiet = (): boolean => active.size === 0 && unwritten.size === 0;
        // Bounded: while it waits, this worker renews its jobs' locks, so no
        // other worker may take them, and a run that never ends (a function
        // that ignores its signal, or never sees one) kept the job, and this
        // process, for ever (the chaos run's seed 8008). lockDuration is how
        // long the queue lets a job wait on a worker that has stopped
        // answering before another may take it: a closing worker waits as
        // long for its runs, then leaves them as a dead worker's are left.
        const ended = await boundedUntil(() => active.size === 0, closeWaitMs);
        await boundedUntil(ended ? quiet : () => unwritten.size === 0);
        await bounded(bull.close(true));
        if (!ended) {
          // Cancelled after BullMQ's close, which writes no outcome from then
          // on: their jobs are not failed but left active, and once their
          // locks lapse (no longer renewed) the stalled-job check gives them
          // to another worker. Cancelled, so that the pool's stop() does not
          // wait for them: a task that ignores its signal loses its thread
          // after cancelGrace (never, if that is Infinity). A run that an
          // earlier run of its job waits for ends that one too (processRun).
          for (const run of active.values()) run.cancel(new CancelledError('the worker closed before the job\'s run ended'));
        }
        await bounded(control.close());
        await Promise.all([endClients(bull), endClients(control)]);
        // Bounded too: a task that a cancel has not ended by then (its abort
        // never seen) is cancelled again by the pool's cut-off, and its
        // thread ended after cancelGrace. (CI's BullMQ chaos once saw a
        // worker's close() wait for ever here, after a Redis restart.)
        await pool.stop({ timeout: closeWaitMs });
      })();
      return closing;
    },
  };
}
