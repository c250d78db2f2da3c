// ThreadPool: Twisted's twisted.python.threadpool.ThreadPool on Node
// Workers. The queue, the thread accounting and the wake-ups are native
// (native/pool.h). This class is the public face and the coordinator:
// it validates, counts, and submits, and hands the rest to its parts,
// built here with their collaborators (as Twisted's Team is):
//   tasks.ts        the tasks in flight and the one settle path
//   timers.ts       cancellation, queue and run timeouts, cancelGrace
//   threads.ts      starting, replacing and joining the threads
//   starvation.ts   every thread parked on the owner while work waits
//   functions.ts    the ids by which threads know the functions
//   moved-buffers.ts  large moved buffers, beside the queue, by port
//   staging.ts      one turn's submissions, pushed to native together
// Owner thread only (the thread that created the pool).
// Tests: test/threadpool-*.ts; its JS logic with hand-stepped fake threads
// in test/threadpool-fake-threads.ts.
import { EventEmitter } from 'node:events';
import { CancelledError, PoolStoppedError, QueueFullError, WouldDeadlockError } from '../errors/errors.js';
import { labelOf } from '../identity/functions.js';
import type { AnyFunction, TaskFunction } from '../base/public/functions.js';
import type { CallOptions } from '../base/public/calls.js';
import type {
  OnResult, PoolCounts, PoolStats, StopOptions, ThreadPool as ThreadPoolApi, ThreadPoolOptions, TimeStats,
} from '../base/public/pool.js';
import { thisThread, type ThreadRuntime } from '../runtime/this-thread.js';
import { native } from '../reactor/native.js';
import { inScope } from '../base/async-scope.js';
import { realClock, startWorker, type Clock, type PoolCollaborators } from './collaborators.js';
import { resolveBounds, resolveOptions, type ResolvedOptions } from './options.js';
import { FunctionTable } from './functions.js';
import { StarvationWatch } from './starvation.js';
import { settleSink, TaskTable, type TaskSink } from './tasks.js';
import { PoolThreads } from './threads.js';
import { TaskTimers } from './timers.js';
import { emitFromBookkeeping, reportError } from '../errors/report.js';
import {
  encodeArgs, markCuttable, markFlatten, markMovedByPort, markReplySlot, markTraced, movedByPort, movesByPort,
} from '../codec/codec.js';
import { carrierFrom, taskChannel, traced, type TaskTraceMessage, type TraceCarrier } from '../base/tracing.js';
import { fastListBound } from '../codec/fast-codec.js';
import { CallStatus, MessageKind, ownPayload, TaskStatus, type InboxMessage } from '../base/wire.js';
import { MovedBuffers } from './moved-buffers.js';
import { PrintedOutput } from './printed-output.js';
import { SubmissionStage } from './staging.js';
import { checkPayloadSize } from '../base/byte-views.js';
import { checkOptions, LOCAL_POOL_OPTIONS, REMOTE_OPTIONS, refuseOptions, stopTimeout } from './call-options.js';

export type { TaskSink } from './tasks.js';

/** The internal submission path, shared with deferToThread and callMultipleInThread. */
export const kSubmit = Symbol('reactor-threads.submit');
export const kCancel = Symbol('reactor-threads.cancel');
/** Internal: a task is asked to abort by its signal alone, never by ending its thread (serveBullMQ's runs of a job taken again). */
export const kAbort = Symbol('reactor-threads.abort');
export const kTimeouts = Symbol('reactor-threads.timeouts');
/** The internal submission path of a call with options, shared with deferToThreadPool.with(). */
export const kSubmitWithOptions = Symbol('reactor-threads.submit-with-options');
/** Internal, for tests that step threads by hand: push the staged submissions now. */
export const kFlush = Symbol('reactor-threads.flush');
/** Internal: blockingCallInThread's task (src/api/blocking-in-thread.ts). */
export const kSubmitBlocking = Symbol('reactor-threads.submit-blocking');
/** Internal: blockingCallInThread, parked, reads what the pool's threads posted to its ports. */
export const kServeParked = Symbol('reactor-threads.serve-parked');
/** Internal: whether stop() has finished, and the native pool is gone (the reactor's pool is then made anew). */
export const kGone = Symbol('reactor-threads.gone');

let nextTaskId = 1;

/** How long calls wait for a pool that was never started before a warning says so (#warnIfNeverStarted). */
const NEVER_STARTED_WARNING_MS = 5_000;
/** The reactor callables of a task that carries none (frozen: shared by all of them). */
const NO_HANDLES: number[] = Object.freeze([]) as unknown as number[];
/** A blockingCallInThread task's sink: its caller takes the outcome from the reply slot. */
const NO_SINK: TaskSink = { settle(): void {} };

/**
 * A pool of threads, each a `worker_threads` Worker with its own event
 * loop, fed from a native queue. Its public members are documented where
 * the public type declares them (src/base/public/pool.ts).
 */
export class ThreadPool extends EventEmitter implements ThreadPoolApi {
  /** This thread's runtime: the reactor that delivers the pool's results. */
  readonly #thread: ThreadRuntime = thisThread();
  readonly #options: ResolvedOptions;
  /** Whether a cancel can end a thread (a finite cancelGrace): then calls that may be cancelled say so to their threads. */
  readonly #cuttingEnds: boolean;
  readonly #poolId: number;
  readonly #tasks = new TaskTable(this.#thread, (id) => {
    this.#timers.forget(id);
    this.#moves.taskOver(id);
    if (this.#full) this.#announceRoom();
  });
  readonly #printed = new PrintedOutput();
  readonly #moves = new MovedBuffers({
    isOpen: (id) => this.#tasks.has(id),
    drainNow: () => this.#thread.core.drainNow(),
    printed: (threadId, stdout, stderr) => this.#printed.asked(threadId, stdout, stderr),
    tail: (threadId, stream, memory) => this.#printed.tail(threadId, stream, memory),
    exitHook: (threadId, ended) => {
      if (ended) this.#threads.exitHookEnded(threadId);
      else this.#threads.exitHookBegan(threadId);
    },
    claim: (threadId, taskId) => !this.#destroyed && native.poolWant(this.#poolId, threadId, taskId, 1),
    lose: (id, error, parked) => {
      if (!this.#tasks.has(id)) return;
      // Queued: removed. Taken, waiting for these buffers: dropped by its thread.
      const cancelled = this.#destroyed ? 0 : native.poolCancel(this.#poolId, id);
      if (!parked) {
        this.#tasks.settle(id, false, error);
        return;
      }
      // Parked, the inbox is not read: a task the thread ran to its end
      // before it died has its result there (native holds it no more), and
      // its buffers were used up; it is left to that result.
      if (cancelled !== 0) queueMicrotask(() => this.#tasks.settle(id, false, error));
    },
    isGone: (threadId) => native.poolThreadGone(this.#poolId, threadId),
  });
  /** poolPush's answer for a task whose buffers move by port: the thread they go ahead to. */
  readonly #target = new Uint32Array(1);
  /** poolPushBatch's answer: how many of the batch were queued. */
  readonly #accepted = new Uint32Array(1);
  /**
   * Plain submissions of this turn, pushed together. Everything that
   * reads or changes the native queue pushes them first (#flush), so that
   * they are queued, in order, before it looks.
   */
  readonly #stage = new SubmissionStage((batch, ids) => this.#pushStaged(batch, ids));
  /** Calls that ended while staged, never pushed (#withdrawStaged, stop()): submitted, for stats(). */
  #unpushed = 0;
  /** Armed by the first call made before start() (#warnIfNeverStarted). */
  #neverStarted: unknown;
  readonly #threads: PoolThreads;
  readonly #timers: TaskTimers;
  readonly #starvation: StarvationWatch;
  readonly #functions: FunctionTable;
  #stopped: Promise<void> | undefined;
  /** stop()'s timeout, armed: when it cuts the tasks still open off (cutOffAfter). */
  #cutOff: { at: number; timer: unknown } | undefined;
  readonly #clock: Clock;
  /** The native counts and times as the pool ended, for stats() after stop(). */
  #finalCounts: PoolCounts | undefined;
  #finalTimes: { queueWait: TimeStats; run: TimeStats } | undefined;
  #destroyed = false;
  #roomWaiters: (() => void)[] = [];
  /** A call was refused for a full queue and 'drain' has not been announced since. */
  #full = false;

  /**
   * @param collaborators Internal, for tests: how threads are started, the
   * clock the pool's timers run on, and what counts as a quick task
   * (src/pool/collaborators.ts). Default: real Workers, real timers, 0.1 ms.
   */
  constructor(options?: ThreadPoolOptions, collaborators?: PoolCollaborators) {
    super();
    this.#options = resolveOptions(options);
    this.#cuttingEnds = Number.isFinite(this.#options.cancelGrace);
    const clock = this.#clock = collaborators?.clock ?? realClock;
    const poolId = this.#poolId = native.poolCreate(this.#options.min, this.#options.max, collaborators?.quickTaskMs);
    this.#thread.core.addSink(poolId, { deliver: (m) => this.#deliver(m) });
    const functions = this.#functions = new FunctionTable(poolId);
    const report = (e: unknown, context: string): void => reportError(this, e, context);
    // Hooks are checked now (a FunctionNotSendableError here), not in each thread.
    const hooks = {
      start: this.#options.onThreadStart ? functions.id(this.#options.onThreadStart) : 0,
      exit: this.#options.onThreadExit ? functions.id(this.#options.onThreadExit) : 0,
    };
    const threads = this.#threads = new PoolThreads({
      poolId, clock, options: this.#options, owner: this.#thread.core.id, hooks, tasks: this.#tasks,
      startThread: collaborators?.startThread ?? startWorker, report, moves: this.#moves, printed: this.#printed,
      afterSender: (sender, run) => this.#thread.core.afterSender(sender, run),
    });
    this.#timers = new TaskTimers({
      poolId, clock, tasks: this.#tasks, cancelGrace: this.#options.cancelGrace,
      gone: () => this.#destroyed, terminate: (id, why) => threads.terminate(id, why),
      unstage: (id) => this.#unstage(id),
    });
    this.#starvation = new StarvationWatch({
      poolId, options: this.#options, clock, starved: CallStatus.Starved, report,
      threads: () => threads.serving, stopped: () => threads.joined,
    });
  }

  get min(): number { return this.#options.min; }
  get max(): number { return this.#options.max; }
  get name(): string { return this.#options.name; }
  get started(): boolean { return this.#threads.started; }
  get joined(): boolean { return this.#threads.joined; }
  get workers(): number { return this.#threads.size; }
  get busy(): number { return this.#counts()?.busy ?? 0; }
  get idle(): number { return this.#counts()?.idle ?? 0; }
  get queued(): number { return this.#counts()?.queued ?? 0; }

  /**
   * The native counts, with this turn's staged calls as queued and
   * submitted; undefined once stop() has finished and the native pool is
   * gone. (Not pushed to be counted: a staged call withdrawn later in the
   * turn must still be in the stage, #withdrawStaged; helper-159.)
   */
  #counts(): PoolCounts | undefined {
    if (this.#destroyed) return undefined;
    const c = native.poolCounts(this.#poolId);
    const staged = this.#stage.size;
    if (staged > 0) {
      c.queued += staged;
      c.submitted += staged;
    }
    return c;
  }

  /** Pushes the staged submissions now. */
  #flush(): void {
    this.#stage.flush();
  }

  [kFlush](): void {
    this.#flush();
  }

  get [kGone](): boolean {
    return this.#destroyed;
  }

  stats(): PoolStats {
    const c = this.#counts() ?? this.#finalCounts;  // (this turn's staged calls counted in)
    const t = this.#destroyed ? this.#finalTimes : native.poolTimes(this.#poolId);
    const none: TimeStats = { count: 0, min: 0, mean: 0, p50: 0, p99: 0, max: 0 };
    const zero: PoolCounts = { threads: 0, busy: 0, idle: 0, queued: 0, submitted: 0, completed: 0, failed: 0,
      functions: 0, affinityKeys: 0 };
    const counts = c ?? zero;
    return {
      ...counts,
      submitted: counts.submitted + this.#unpushed,
      cancelled: this.#tasks.withdrawn, threadsDied: this.#threads.died,
      queueWait: t?.queueWait ?? none, runTime: t?.run ?? none, bridgeCallsServed: this.#thread.server.served,
      movedByPort: this.#moves.moved, movedHeld: this.#moves.held,
    };
  }

  whenRoom(): Promise<void> {
    if (this.#destroyed || this.queued < this.#options.maxQueue) return Promise.resolve();
    this.#full = true;
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  start(): void {
    if (this.joined) throw new PoolStoppedError('a stopped ThreadPool cannot be started again');
    if (this.started) return;
    if (this.#neverStarted !== undefined) this.#clock.clearTimeout(this.#neverStarted);
    this.#flush();  // (they count as queued work, for the threads to start)
    this.#threads.start();
  }

  stop(options?: StopOptions): Promise<void> {
    const timeout = stopTimeout(options);
    if (this.#stopped) {
      // (An earlier deadline still counts: a second signal may shorten a drain.)
      if (timeout !== undefined) this.#cutOffAfter(timeout);
      return this.#stopped;
    }
    // Submitted before stop(): drained like the rest, or rejected below
    // without being pushed (pushed, a thread spinning for work could take
    // and run some before native knew of the stop: helper-156).
    if (this.#neverStarted !== undefined) this.#clock.clearTimeout(this.#neverStarted);
    const drain = options?.drain === true;
    const staged = drain ? [] : this.#stage.discard();
    this.#unpushed += staged.length;
    this.#flush();
    this.#threads.beginStop(drain);
    this.#starvation.cancel();
    const queued = native.poolStop(this.#poolId, drain);
    // Recorded before the queued calls settle below: a callback of theirs
    // that calls stop() again gets this same Promise (it started a second
    // ending, whose join replaced this one's, which then never resolved).
    this.#stopped = this.#threads.join().then(() => {
      if (this.#cutOff) this.#clock.clearTimeout(this.#cutOff.timer);
      this.#cutOff = undefined;
      // Each thread's exit was handled after its last messages (even those
      // held behind a call whose function loads: PoolThreads); results
      // that native posted for it at its exit may still be in the inbox:
      // deliver them before the pool's sink goes away.
      this.#thread.core.drainNow();
      for (const id of this.#tasks.open()) {
        this.#tasks.settle(id, false, new PoolStoppedError('the pool stopped before the task settled'));
      }
      this.#thread.core.removeSink(this.#poolId);
      // (stats() reads these once the native pool is gone.)
      this.#finalCounts = native.poolCounts(this.#poolId);
      this.#finalTimes = native.poolTimes(this.#poolId);
      native.poolDestroy(this.#poolId);
      this.#moves.close();
      this.#destroyed = true;
    });
    for (const id of [...staged, ...queued]) {
      this.#tasks.settle(id, false, new PoolStoppedError('the task was still queued when stop() was called'));
    }
    if (timeout !== undefined) this.#cutOffAfter(timeout);
    return this.#stopped;
  }

  /**
   * stop()'s `timeout`: `ms` from now, the tasks still open (running, or
   * queued for a drain) are cancelled, as a call's signal cancels one:
   * rejected with a PoolStoppedError, their signals aborted, and a thread
   * whose task has not ended `cancelGrace` later terminated. Without it, a
   * task that never ends (a loop, a Promise that never settles) kept stop()
   * waiting for ever (a newcomer's shutdown on SIGTERM, helper-152). The
   * earliest of the deadlines given counts.
   */
  #cutOffAfter(ms: number): void {
    if (this.#destroyed || ms === Infinity) return;
    const at = this.#clock.now() + ms;
    if (this.#cutOff && this.#cutOff.at <= at) return;
    if (this.#cutOff) this.#clock.clearTimeout(this.#cutOff.timer);
    this.#cutOff = {
      at,
      timer: this.#clock.setTimeout(() => {
        this.#cutOff = undefined;
        if (this.#destroyed) return;
        for (const id of this.#tasks.open()) {
          this[kCancel](id, new PoolStoppedError(`the pool stopped: the task was still open when stop()'s timeout of ${ms} ms passed`));
        }
      }, ms),
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  adjustPoolsize(minThreads?: number, maxThreads?: number): void {
    const { min, max } = resolveBounds(minThreads, maxThreads, this.#options);
    this.#options.min = min;
    this.#options.max = max;
    if (this.#destroyed) return;  // stopped and gone: only the numbers change
    native.poolSetBounds(this.#poolId, min, max);
    if (!this.started) return;
    this.#flush();
    const queued = this.#threads.fill();
    // Threads parked in blocking calls take nothing: queued work may want one more.
    if (queued > 0) this.#meetDemand();
  }

  callInThread<F extends AnyFunction>(f: TaskFunction<F>, ...args: Parameters<F>): void {
    this[kSubmit](f, args, {
      settle: (ok, value) => { if (!ok) reportError(this, value, 'callInThread'); },
    });
  }

  callInThreadWithCallback<F extends AnyFunction>(
    onResult: OnResult<Awaited<ReturnType<F>>>, f: TaskFunction<F>, ...args: Parameters<F>): void;
  callInThreadWithCallback<F extends AnyFunction>(
    onResult: (success: boolean) => void, f: TaskFunction<F>, ...args: Parameters<F>): void;
  callInThreadWithCallback<F extends AnyFunction>(
    onResult: (success: boolean, result: unknown) => void, f: TaskFunction<F>, ...args: Parameters<F>): void {
    this[kSubmit](f, args, this.#callback(onResult));
  }

  callInThreadWithOptions<F extends AnyFunction>(options: Omit<CallOptions, 'callerStack'>,
    onResult: OnResult<Awaited<ReturnType<F>>>, f: TaskFunction<F>, ...args: Parameters<F>): void;
  callInThreadWithOptions<F extends AnyFunction>(options: Omit<CallOptions, 'callerStack'>,
    onResult: (success: boolean) => void, f: TaskFunction<F>, ...args: Parameters<F>): void;
  callInThreadWithOptions<F extends AnyFunction>(options: Omit<CallOptions, 'callerStack'>,
    onResult: (success: boolean, result: unknown) => void, f: TaskFunction<F>, ...args: Parameters<F>): void {
    const checked = checkOptions(options, LOCAL_POOL_OPTIONS);
    if (checked.callerStack) {
      throw new TypeError('options.callerStack: a pool cannot honour it (deferToThreadPool.with() can, on the Promise it returns)');
    }
    this[kSubmitWithOptions](f, args, this.#callback(onResult), checked);
  }

  /** The sink of a call with an onResult callback: run in the call's async context, its errors reported. */
  #callback(onResult: (success: boolean, result: unknown) => void): TaskSink {
    if (typeof onResult !== 'function') throw new TypeError('onResult must be a function');
    const bound = inScope(onResult, 'reactor-threads:ThreadPool.onResult');
    return {
      settle: (ok, value) => {
        try { bound(ok, value); } catch (e) { reportError(this, e, 'onResult'); }
      },
    };
  }

  /**
   * Internal: kSubmit with a call's checked options: its affinity key and
   * flattenInstances, its timeouts, and its signal, which withdraws the
   * task if it is queued or cancels it if it runs (see [kCancel]). Throws
   * a TypeError naming the options a ThreadPool cannot honour, before
   * anything is queued; every other failure, a signal aborted before the
   * call included, reaches the sink, asynchronously.
   */
  [kSubmitWithOptions](f: unknown, args: readonly unknown[], sink: TaskSink, options: CallOptions | undefined): void {
    refuseOptions(options, REMOTE_OPTIONS, (them) => `a ThreadPool cannot honour ${them} (a remote pool such as reactor-threads/bullmq's can)`);
    const signal = options?.signal;
    if (signal?.aborted) {
      const error = new CancelledError(signal.reason);
      queueMicrotask(() => settleSink(sink, false, error));
      return;
    }
    let id = 0;
    const withdraw = (): void => this[kCancel](id, new CancelledError(signal!.reason));
    const settled: TaskSink = signal === undefined ? sink : {
      settle(ok: boolean, value: unknown): void {
        signal.removeEventListener('abort', withdraw);
        settleSink(sink, ok, value);
      },
    };
    const affinity = options?.affinity === undefined ? undefined : String(options.affinity);
    // (A call that may be cancelled says so to its thread: see markCuttable.)
    const cuttable = signal !== undefined || options?.runTimeout !== undefined;
    id = this[kSubmit](f, args, settled, false, affinity, options?.flattenInstances, cuttable);
    if (id === 0) return;  // not queued: its failure reaches the sink
    if (options?.queueTimeout !== undefined || options?.runTimeout !== undefined) {
      this[kTimeouts](id, options.queueTimeout, options.runTimeout);
    }
    signal?.addEventListener('abort', withdraw, { once: true });
  }

  /**
   * Internal: queue a task whose outcome goes to `sink`. Never throws; a
   * failure before queueing reaches the sink asynchronously. Returns the
   * task id, or 0 when nothing was queued. `flatten`: the call's
   * flattenInstances (undefined: the pool's). `cuttable`: the task may be
   * cancelled ([kCancel], a runTimeout), which can end its thread (unless
   * cancelGrace is Infinity); its thread is told (markCuttable in
   * src/codec/codec.ts).
   */
  [kSubmit](f: unknown, args: readonly unknown[], sink: TaskSink, multiple?: boolean, affinity?: string,
    flatten?: boolean, cuttable = false): number {
    // (With cancelGrace Infinity no cancel ends a thread: nothing to tell it.)
    cuttable &&= this.#cuttingEnds;
    if (traced(taskChannel)) return this.#submitTraced(f, args, sink, multiple, affinity, flatten, cuttable);
    return this.#submit(f, args, sink, multiple, affinity, flatten, cuttable, undefined);
  }

  /** kSubmit while someone listens on the task channel (src/base/tracing.ts). */
  #submitTraced(f: unknown, args: readonly unknown[], sink: TaskSink, multiple: boolean | undefined, affinity: string | undefined,
    flatten: boolean | undefined, cuttable: boolean): number {
    const message: TaskTraceMessage = { taskId: 0, function: multiple ? 'callMultipleInThread' : labelOf(f), pool: this.name, args };
    const tracedSink: TaskSink = {
      settle: (ok, value) => {
        if (ok) {
          message.result = value;
        } else {
          message.error = value;
          taskChannel.error.publish(message);
        }
        taskChannel.asyncStart.runStores(message, () => {
          try {
            settleSink(sink, ok, value);
          } finally {
            taskChannel.asyncEnd.publish(message);
          }
        });
      },
    };
    return taskChannel.start.runStores(message, () => {
      try {
        return message.taskId = this.#submit(f, args, tracedSink, multiple, affinity, flatten, cuttable, carrierFrom(message.carrier));
      } finally {
        taskChannel.end.publish(message);
      }
    });
  }

  #submit(f: unknown, args: readonly unknown[], sink: TaskSink, multiple: boolean | undefined, affinity: string | undefined,
    flatten: boolean | undefined, cuttable: boolean, carrier: TraceCarrier | undefined): number {
    let handles: number[] | undefined;
    let id: number;
    let demand: number;
    /** Moved buffers that go beside the task, by port. */
    let byPort: ArrayBuffer[] | undefined;
    /** The call overrides the pool's flattenInstances: its thread must be told. */
    const overrides = flatten !== undefined && flatten !== this.#options.flattenInstances;
    try {
      if (this.joined) throw new PoolStoppedError('the thread pool is stopped; the call was not run');
      if (this.#neverStarted === undefined && !this.#threads.started) this.#warnIfNeverStarted();
      let fnId: number;
      let payload: readonly unknown[] = args;
      if (multiple) {
        const entries = this.#functions.entries(args as [unknown, unknown[]][]);
        fnId = this.#functions.multiple(entries.map(([id]) => id));
        payload = entries;
      } else {
        fnId = this.#functions.id(f);
        const bound = affinity === undefined && !overrides && !carrier ? fastListBound(args) : -1;
        if (bound >= 0) {
          // The commonest call: primitives only, nothing to bind. Written
          // straight into the staged batch (as below, the table first).
          id = nextTaskId++;
          this.#tasks.add(id, sink, NO_HANDLES);
          this.#staging(id, fnId, args, bound, cuttable);
          return id;
        }
      }
      // Functions among the arguments stay here; the thread gets proxies.
      // (Shared memory goes with it by port: every pool thread has one.)
      let encoded = encodeArgs(payload, this.#thread.values, handles = [], flatten ?? this.#options.flattenInstances, true,
        multiple ? 'list' : 'args');
      // (The trace carrier inside the flatten byte: codec.ts.)
      if (carrier) encoded = markTraced(encoded, carrier);
      if (overrides) encoded = markFlatten(encoded, !this.#options.flattenInstances);
      if (cuttable) encoded = markCuttable(encoded);
      id = nextTaskId++;
      if (!encoded.transfers && affinity === undefined) {
        // Plain: staged, pushed with the rest of this turn's (#pushStaged
        // settles it if the queue turns out to be full).
        this.#tasks.add(id, sink, handles);
        this.#staging(id, fnId, encoded.bytes, -1, false);
        return id;
      }
      // Moved buffers leave the caller now and an affinity key binds now:
      // pushed at once, behind what is staged.
      const bytes = this.#flushBefore(encoded.bytes);
      if (movesByPort(encoded.transfers)) {
        byPort = encoded.transfers;
        demand = native.poolPush(this.#poolId, id, fnId, markMovedByPort(bytes, byPort.length), undefined,
          this.#options.maxQueue, affinity, this.#target);
      } else {
        demand = native.poolPush(this.#poolId, id, fnId, bytes, encoded.transfers, this.#options.maxQueue, affinity);
      }
      // Refused: the buffers stay with the caller, whole.
      if (demand === -2) {
        this.#full = true;
        throw new QueueFullError(this.#options.maxQueue);
      }
    } catch (e) {
      // Nothing was queued.
      if (handles) this.#thread.callables.release(handles);
      queueMicrotask(() => settleSink(sink, false, e));
      return 0;
    }
    this.#tasks.add(id, sink, handles);
    if (byPort) {
      // (No thread can ask for them before this returns: its asks arrive
      // on this loop.) Sent ahead to the chosen thread. One chosen asleep
      // is woken by their message, and takes the task as it reads it
      // (src/thread/moved-buffers.ts, `given`): one wake-up of the thread,
      // where a native one after the post made two, which its loop handled
      // as two callbacks (bench payload: a thread's loop wakes, reads the
      // port, then runs the native wake-up's drain and takes). Native still
      // wakes it when the buffers stay here (it may end soon: then
      // Pool::WakeThread falls back to another thread, or the owner's
      // demand), or when posting them threw. The flag native set for that
      // wake-up is cleared when the thread takes (Pool::Take), or when it
      // goes away without taking (its task goes to a sibling then). A
      // thread chosen because it was about to take may take the task first;
      // it reads its port for them.
      const target = this.#target[0]!;
      let sent = false;
      try {
        sent = this.#moves.keep(id, byPort, target !== 0 && !this.#mayEndSoon(target) ? target : 0);
      } finally {
        if (target && !sent) native.poolWake(this.#poolId, target);
      }
    }
    if (demand > 0) this.#meetDemand();
    return id;
  }

  /**
   * Whether thread `threadId`, chosen by native for a task whose buffers go
   * ahead of it, may end before it takes the task: it runs a cancelled
   * task whose cancelGrace runs, it is being terminated, or it is gone
   * (dead, its exit not seen yet). Buffers sent to it would die with it,
   * and the task, pinned there by its key, would fail unrun with a
   * ThreadDiedError. They stay here instead: the thread that takes the
   * task asks for them (this one too, if it lives on: its wake-up still
   * comes; or its replacement, the task requeued when it exits).
   */
  #mayEndSoon(threadId: number): boolean {
    return this.#timers.mayTerminate(threadId) || this.#threads.terminating(threadId)
      || native.poolThreadGone(this.#poolId, threadId);
  }

  /**
   * Internal: queues the task of a blockingCallInThread whose caller (this
   * thread) waits on reply slot `slotId`; returns [pool id, task id]. Unlike
   * kSubmit it throws what refuses the call, at once: its caller is about
   * to park, and would never see a failure delivered later. Pushed now,
   * behind what is staged, and never with buffers by port (the parked
   * owner reads no port): moved buffers are copied natively. Its table
   * entry has no sink (its caller takes the outcome from the slot): the
   * task's end in the inbox settles it, which its thread sends behind its
   * console output, so the loop stays alive until that output is printed;
   * or its caller's kCancel, when the wait ends unanswered.
   */
  [kSubmitBlocking](f: unknown, args: readonly unknown[], slotId: number): [number, number] {
    if (this.joined) throw new PoolStoppedError('the thread pool is stopped; the call was not run');
    if (!this.started) {
      throw new WouldDeadlockError('blockingCallInThread: the pool is not started, and it cannot start a thread while '
        + 'this thread waits: start() it first');
    }
    const fnId = this.#functions.id(f);
    const handles: number[] = [];
    let id: number;
    try {
      const encoded = encodeArgs(args, this.#thread.values, handles, this.#options.flattenInstances);
      // (Marked after the flush: the mark's buffer is the module's, which any submission's mark overwrites.)
      const marked = markReplySlot({ ...encoded, bytes: this.#flushBefore(encoded.bytes) }, slotId);
      id = nextTaskId++;
      const demand = native.poolPush(this.#poolId, id, fnId, marked.bytes, marked.transfers, this.#options.maxQueue);
      if (demand === -2) {
        this.#full = true;
        throw new QueueFullError(this.#options.maxQueue);
      }
      this.#tasks.add(id, NO_SINK, handles);
      // Threads that died and whose exits this thread will not see while
      // it waits count as not there: replaced now, if work needs them.
      if (demand > 0) this.#meetDemand(1, native.poolGoneThreads(this.#poolId));
    } catch (e) {
      this.#thread.callables.release(handles);
      throw e;
    }
    return [this.#poolId, id];
  }

  /**
   * Internal: this thread is parked in a blockingCallInThread on this
   * pool, and a thread posted to its ports (ReplySlot::Attend): an ask
   * for a queued task's moved buffers is served now, as the loop would.
   */
  [kServeParked](): void {
    this.#moves.serveParked();
  }

  /** Internal: withdraw a task, settling it with `reason` (see TaskTimers.cancel). */
  [kCancel](taskId: number, reason: unknown): void {
    if (this.#withdrawStaged(taskId, reason)) return;
    this.#timers.cancel(taskId, reason);
  }

  /** Internal: ask a task to abort, by its signal alone (see TaskTimers.abort). */
  [kAbort](taskId: number, reason: unknown): void {
    if (this.#withdrawStaged(taskId, reason)) return;
    this.#timers.abort(taskId, reason);
  }

  /**
   * Calls made before start() wait for it, as Twisted's do: a program that
   * never calls it (piscina's pools have no start()) waited for ever, in
   * silence (helper-156). Once NEVER_STARTED_WARNING_MS after the first
   * such call the pool is still not started and calls wait, a process
   * warning says so, once per pool.
   */
  #warnIfNeverStarted(): void {
    this.#neverStarted = this.#clock.setTimeout(() => {
      const waiting = this.#tasks.size;
      if (this.#threads.started || this.joined) return;
      if (waiting === 0) {
        // (The calls so far settled, aborted say: the next call arms it again.)
        this.#neverStarted = undefined;
        return;
      }
      process.emitWarning(`${waiting} call(s) have waited ${NEVER_STARTED_WARNING_MS / 1000} s for ThreadPool '${this.name}', `
        + 'which was never started: call pool.start() (calls made before it wait for it)',
      { code: 'REACTOR_THREADS_POOL_NOT_STARTED' });
    }, NEVER_STARTED_WARNING_MS);
  }

  /**
   * Withdraws task `taskId` if it is still staged (made this turn): it
   * never reaches the native queue, where a thread spinning for work
   * could take and run it before the cancel did (helper-156: 10 of 50
   * calls aborted in the turn they were made ran, one resolved). Else it
   * was pushed, and native cancels it; the stage stays as it is (pushing
   * it first let the turn's other calls run before their own aborts came:
   * helper-159, 556 of 1,000 when a call of an earlier turn was aborted first).
   */
  #withdrawStaged(taskId: number, reason: unknown): boolean {
    if (!this.#unstage(taskId)) return false;
    this.#tasks.withdraw(taskId, reason);
    return true;
  }

  /** Takes task `taskId` out of the stage if it is there: it is never pushed (counted as submitted all the same). */
  #unstage(taskId: number): boolean {
    if (!this.#stage.withdraw(taskId)) return false;
    this.#unpushed++;
    return true;
  }

  /**
   * Internal: the call's timeouts. queueTimeout counts from now and
   * withdraws a task still queued; runTimeout counts from the moment a
   * thread takes the task, then cancels it as [kCancel] does. Either
   * settles the task with a TaskTimeoutError.
   */
  [kTimeouts](taskId: number, queueTimeout: number | undefined, runTimeout: number | undefined): void {
    this.#timers.watch(taskId, queueTimeout, runTimeout);
  }

  /**
   * Stages registered task `id`: arguments that take the fast path
   * (`bound`: their fastListBound) or encoded bytes (`bound` -1).
   */
  #staging(id: number, fnId: number, what: readonly unknown[] | Uint8Array, bound: number, cuttable: boolean): void {
    try {
      if (bound >= 0) this.#stage.addFast(id, fnId, what as readonly unknown[], bound, cuttable);
      else this.#stage.add(id, fnId, what as Uint8Array);
    } catch (e) {
      // Registered, not staged: it ends through the table (once), later.
      queueMicrotask(() => this.#tasks.settle(id, false, e));
    }
  }

  /**
   * Pushes what is staged, ahead of a task pushed at once whose encoded
   * `bytes` it returns, once it checked their size as staging does
   * (native would refuse them with a bare TypeError). Pushing may start a
   * thread, which can run code of the user's (a getter of the pool's
   * `env`, the callbacks of the calls that a failed start ends) that
   * submits too and encodes into the scratch buffer that holds `bytes`:
   * then they are a copy.
   */
  #flushBefore(bytes: Uint8Array): Uint8Array {
    checkPayloadSize(bytes.length, 'a task\'s arguments');
    if (this.#stage.size === 0) return bytes;
    const own = new Uint8Array(bytes);  // (a copy, of a Buffer too, whose slice() is a view)
    this.#flush();
    return own;
  }

  /** Pushes a staged batch: those the queue had no room for fail with QueueFullError. */
  #pushStaged(batch: Uint8Array, ids: number[]): void {
    const demand = native.poolPushBatch(this.#poolId, batch, ids.length, this.#options.maxQueue, this.#accepted);
    const accepted = this.#accepted[0]!;
    if (accepted < ids.length) {
      this.#full = true;
      const refused = ids.slice(accepted);
      const error = new QueueFullError(this.#options.maxQueue);
      // Later, as for a call refused at once: a flush may run inside the
      // caller's next submission, and an onResult must not run within it.
      queueMicrotask(() => { for (const id of refused) this.#tasks.settle(id, false, error); });
    }
    if (demand > 0) this.#meetDemand(demand);
  }

  /**
   * Queued work no thread will take soon (`demand` tasks of it): start a
   * thread per task, up to max (not counting `gone` threads, dead but not
   * yet removed); at max, watch for starvation.
   */
  #meetDemand(demand = 1, gone = 0): void {
    if (!this.started) return;
    for (let n = demand; n > 0; n--) {
      if (!this.#threads.roomFor(this.max, gone)) {
        this.#starvation.watch();
        return;
      }
      // A refused start failed the queue: nothing left to start threads for.
      if (!this.#threads.add()) return;
    }
  }

  #deliver(m: InboxMessage): Promise<void> | undefined {
    if (m.kind === MessageKind.PoolDemand) {
      this.#meetDemand();
      return undefined;
    }
    // It ran: the buffers it was given were used up in its thread.
    if (m.status === TaskStatus.Fulfilled) this.#moves.consumed(m.id);
    if (movedByPort(m.payload) === 0) {
      this.#tasks.deliver(m);
      return undefined;
    }
    if (!this.#tasks.has(m.id)) {
      // Its caller gave up on it: the result is dropped, its buffers too
      // (whether here or still to come), and what it carried is released.
      this.#moves.taskOver(m.id);
      this.#tasks.settle(m.id, false, undefined);
      return undefined;
    }
    // Its buffers came (or come) by port, just ahead of it.
    const buffers = this.#moves.resultBuffers(m.id, m.sender);
    if (Array.isArray(buffers)) {
      // (m is this delivery's own: readInbox makes one per message.)
      m.transfers = buffers;
      this.#tasks.deliver(m);
      return undefined;
    }
    // (It is decoded after its batch's delivery: InboxMessage.payload.)
    ownPayload(m);
    return buffers.then(
      (arrived) => {
        m.transfers = arrived;
        this.#tasks.deliver(m);
      },
      (e: unknown) => this.#tasks.settle(m.id, false, e));
  }

  /**
   * A task ended (a result, a withdrawal, stop()), so the queue may have
   * room: once it has, wake those waiting for it.
   */
  #announceRoom(): void {
    if (this.queued >= this.#options.maxQueue) return;
    this.#full = false;
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiters) w();
    // (From within a task's settle, before its own sink is answered.)
    emitFromBookkeeping(this, 'drain');
  }
}

