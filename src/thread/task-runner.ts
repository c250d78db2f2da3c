// A pool thread's task runner: starts the tasks the thread took, strictly
// in the order it took them (a task whose function must load first holds
// the rest), runs them, gives each its cancellation signal
// (currentTask()), and sends each outcome through the thread's outbox.
// Before the thread parks in a blocking call it hands back the tasks it
// has not started. A blockingCallInThread task answers its parked
// caller's reply slot instead (#answer). Pool thread only;
// src/thread/worker.ts builds one.
// Tests: test/thread-death.ts, test/cancellation.ts, test/threadpool-*.ts.
import { deserialize } from 'node:v8';
import {
  carrierOf, decodeValue, encodeResult, flattenOf, isCuttable, markMovedByPort, movedByPort, movesByPort,
  replySlotOf, type ValueContext,
} from '../codec/codec.js';
import type { CurrentTask } from '../base/public/calls.js';
import { CancelledError, serializeUserFailure, ValueNotCloneableError } from '../errors/errors.js';
import { loadFunction } from '../identity/functions.js';
import { native, type RequeuedTask } from '../reactor/native.js';
import type { PoolThreadOutbox } from './outbox.js';
import type { ThreadMovedBuffers } from './moved-buffers.js';
import { CallStatus, copyOfBytes, TaskStatus, type FunctionDescriptor, type TaskMessage } from '../base/wire.js';
import { runTraced, settleTraced, taskRunChannel, traced, type TaskRunTraceMessage } from '../base/tracing.js';
import { flushStaged } from '../pool/staging.js';
import { isThenable } from '../base/thenable.js';
import { realClearTimeout, realSetTimeout } from '../base/real-timers.js';
import { SmallMap, SmallSet } from '../base/small-set.js';
import { checkPayloadSize } from '../base/byte-views.js';

/** Who the runner works for. */
export interface TaskRunnerSetup {
  poolId: number;
  threadId: number;
  /** The thread's name, for the boundary line of a failure's stack. */
  threadName: string;
  values: ValueContext;
  /** The pool's flattenInstances, for results of tasks whose payload does not say otherwise. */
  flattenInstances: boolean;
  outbox: PoolThreadOutbox;
  /** Where large moved buffers come and go (absent: none come, and results' are copied). */
  moves: ThreadMovedBuffers | undefined;
  /** A task ended (succeeded or failed): for recycling by count or heap. */
  onSettled(): void;
  /** An async task ended, or a load finished: room for more work. */
  onRoom(): void;
  /** Whether messages wait for this thread's loop (its reactor core's hasMail()). */
  hasMail(): boolean;
}

/**
 * How long after a cancel a thread turns its loop between batches while
 * the cancelled task is held (TaskRunner.aborting): well past the default
 * cancelGrace (1 s); after it, the task's timers and I/O run every
 * MAX_ROUNDS batches, as before (src/thread/worker.ts).
 */
const ABORTING_MS = 10_000;
/**
 * How long a batch of tasks may run before the thread hands back the
 * tasks of it that have not started (#runInOrder). Native batches only
 * tasks of functions whose runs average under 100 us (native/pool.h
 * FnTiming), so a batch of 8 normally ends within a millisecond; twice
 * that leaves room for a scavenge. (A thread takes the tasks pinned to it
 * by a key all at once, whatever their functions: those it hands back to
 * itself.)
 */
const BATCH_RUNS_LONG_MS = 2;

export class TaskRunner {
  readonly #s: TaskRunnerSetup;
  /** Functions by pool function id; a Promise while the first use loads it. */
  readonly #functions: (Function | Promise<Function> | undefined)[] = [];
  /** Their labels (the name a failure's stack gives at the thread boundary). */
  readonly #labels: string[] = [];
  /**
   * Tasks taken and not started, in the order taken: they start in that
   * order. Native counts on it to tell, if this thread dies, which task
   * was running (Pool::RemoveThread). (This and the other per-task
   * collections are SmallSets: a Set would reallocate its table for every
   * task.)
   */
  readonly #notStarted = new SmallSet<TaskMessage>();
  /**
   * When the first task of the batch in #notStarted began (performance.now()),
   * if others waited behind it; undefined till then. Read only for batches,
   * which hold tasks back behind the one running (#runInOrder). Moved on
   * by the time a wait for a function or buffers took (#stopAwaiting): a
   * long load turned the loop, and the batch has not run long for it.
   */
  #batchBegan: number | undefined;
  /** The task that starts next, while its function loads or its buffers arrive. */
  #awaitingLoad: TaskMessage | undefined;
  /** When that wait began (performance.now()), if within a batch (#batchBegan). */
  #awaitingSince = 0;
  /**
   * Whether that wait is for the task's function alone: a load can end
   * without a turn of the loop (a CommonJS module loads synchronously), so
   * mail that came meanwhile may be unread (#stopAwaiting). A wait for
   * buffers by port ends with a message, after the loop read its mail.
   */
  #awaitingLoadOnly = false;
  /** Tasks taken whose moved buffers are still on their way (by port): the wait, and how to end it unmet. */
  readonly #buffersDue = new Map<TaskMessage, { arrived: Promise<void>; abandon(): void }>();
  /** Tasks running asynchronously (their Promise not settled yet). */
  readonly #inflight = new SmallSet<number>();
  /**
   * Tasks this thread holds (taken, not ended) that may be cancelled
   * (isCuttable): while it holds one, the pool may terminate it, before its
   * loop runs again, for that task's runTimeout or a cancel it outlasts by
   * cancelGrace. Native then posts the results it held behind output the
   * streams still buffered, and that output dies with the thread. So what
   * they buffer is posted when such a task is taken and as each task ends
   * while one is held (take, #ended); otherwise the loop posts it, one
   * post for many tasks' lines (a post per printing task cost a third of
   * their throughput). (A task left here by a path that forgets it only
   * makes more posts.)
   */
  readonly #cuttable = new SmallSet<number>();
  /**
   * Cancellation. A task gets an AbortController only when it asks for its
   * signal (currentTask()); a cancel that arrives before it asks is kept in
   * #cancelled, so the signal it then gets is already aborted.
   */
  #running: number | undefined;
  readonly #controllers = new Map<number, AbortController>();
  readonly #cancelled = new Set<number>();
  /** When the owner last cancelled a task this thread holds (performance.now()): `aborting` lasts ABORTING_MS from it. */
  #cancelledAt = 0;
  /** blockingCallInThread tasks started here -> their caller's reply slot (#answer). */
  readonly #slots = new SmallMap<number, number>();
  #answeredLast = false;

  constructor(setup: TaskRunnerSetup) {
    this.#s = setup;
    // While it holds a task that may be cancelled, what this thread prints
    // leaves as it is written: a task may keep the loop from turning until
    // the pool terminates the thread. (Such a post runs no user code: the
    // callbacks of the writes it ends wait for process.nextTick.)
    setup.outbox.postEagerlyWhile(() => this.#cuttable.size > 0);
  }

  /** Tasks this thread holds: running asynchronously, or taken and not started. */
  get holding(): number {
    return this.#inflight.size + this.#notStarted.size;
  }

  /**
   * Whether a blockingCallInThread task of this thread's is not answered
   * yet: its caller, this thread's owner (a pool is its owner's alone), is
   * parked waiting for it.
   */
  get answering(): boolean {
    return this.#slots.size > 0;
  }

  /** Whether the task that settled last was a blockingCallInThread task, answered to its caller's slot. */
  get answeredLast(): boolean {
    return this.#answeredLast;
  }

  /** Whether the task that starts next waits for its function to load (or its buffers). */
  get loading(): boolean {
    return this.#awaitingLoad !== undefined;
  }

  /** A batch the thread took: started in order, now or behind a load. */
  take(tasks: readonly TaskMessage[]): void {
    let cuttable = false;
    this.#batchBegan = undefined;
    // (Indexed: a for-of runs the iterator protocol, on every take's path.)
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[i]!;
      this.#notStarted.add(t);
      if (isCuttable(t.payload)) {
        this.#cuttable.add(t.taskId);
        cuttable = true;
      }
      if (movedByPort(t.payload) > 0) this.#fetchBuffers(t);
    }
    // Before any of them starts. It runs write callbacks, user code, once
    // the batch is listed: a blocking call made there hands the batch back
    // (beforePark), where it parked holding it (helper-124's review).
    if (cuttable) this.#s.outbox.postBufferedOutput();
    this.#runInOrder();
  }

  /** A task whose buffers travel by port: they are here (sent ahead), or asked for now. */
  #fetchBuffers(t: TaskMessage): void {
    const moves = this.#s.moves!;
    // (Here already, the common case: no wait is built.)
    const got = moves.here(t.taskId, t.sentAhead);
    if (got) {
      t.transfers = got;
      return;
    }
    let done!: () => void;
    let abandon!: (e: unknown) => void;
    const arrived = new Promise<void>((resolve, reject) => { done = resolve; abandon = reject; });
    // Awaited only once the task is next (#waitFor): one further back that
    // leaves unrun (a hand-back, a cancel) rejects it unawaited, which
    // would end the thread as an unhandled rejection (helper-109's review).
    arrived.catch(() => {});
    this.#buffersDue.set(t, { arrived, abandon: () => abandon(new CancelledError()) });
    moves.wait(t.taskId, t.sentAhead, (buffers) => {
      t.transfers = buffers;
      this.#buffersDue.delete(t);
      done();
    });
  }

  /** A function of the pool (a task's, a lifecycle hook's), loaded once. */
  fn(fnId: number): Function | Promise<Function> {
    return this.#functions[fnId] ?? this.#load(fnId);
  }

  /** currentTask(): the task whose synchronous part runs now. */
  current(): CurrentTask | undefined {
    const id = this.#running;
    if (id === undefined) return undefined;
    const controllers = this.#controllers;
    const cancelled = this.#cancelled;
    const holds = (): boolean => this.#running === id || this.#inflight.has(id);
    // The controller this object handed out, so that it hands out the same
    // signal after its task ended. One first made then (a callback the
    // task left behind asks) can no longer abort, and no map keeps it:
    // this object frees it with itself (before, each such read left a
    // controller in #controllers for the thread's life).
    let handedOut: AbortController | undefined;
    return {
      id,
      get signal(): AbortSignal {
        let c = handedOut ?? controllers.get(id);
        if (!c) {
          c = new AbortController();
          if (holds()) controllers.set(id, c);
          if (cancelled.has(id)) c.abort(new CancelledError());
        }
        handedOut = c;
        return c.signal;
      },
    };
  }

  /**
   * Runs `f` synchronously as a part of task `taskId`, which this thread
   * holds: for a task that runs users' functions later, after an await
   * (reactor-threads/bullmq's job runner), so that their currentTask()
   * finds the task as the task's own first step would.
   */
  within<T>(taskId: number, f: () => T): T {
    const outer = this.#running;
    this.#running = taskId;
    try {
      return f();
    } finally {
      this.#running = outer;
    }
  }

  /** The owner asked to abort a task this thread holds. */
  cancel(taskId: number): void {
    for (const t of this.#notStarted.values()) {
      if (t.taskId !== taskId) continue;
      // Not started: it never runs. Its caller has its answer already.
      this.#notStarted.delete(t);
      this.#releaseBuffers(t, false);
      this.#fail(taskId, new CancelledError());
      // The task that was loading: what was taken behind it starts now (or
      // waits for its own load), and the thread looks for work, as native
      // expects of a thread whose last held task ended (Pool::OnWayBackLocked);
      // waiting for a load that may never end instead kept a sibling asleep
      // and a queued call waiting.
      if (t === this.#awaitingLoad) this.#stopAwaiting();
      return;
    }
    // A cancel that arrives after the task ended is dropped, so nothing
    // piles up. One of a task it holds is kept until the task ends: for
    // the signal it asks for later, and for `aborting`.
    if (!this.#inflight.has(taskId) && this.#running !== taskId) return;
    this.#cancelled.add(taskId);
    this.#cancelledAt = performance.now();
    this.#controllers.get(taskId)?.abort(new CancelledError());
  }

  /**
   * Whether a task this thread holds was cancelled, within ABORTING_MS,
   * and has not ended: its answer to the abort may need this thread's
   * timers or I/O, so the thread goes back to its loop between batches
   * until it has (pull()). Bounded: with cancelGrace Infinity, a task
   * that never ends would slow its thread's other tasks for good
   * (helper-108's review).
   */
  get aborting(): boolean {
    return this.#cancelled.size > 0 && performance.now() - this.#cancelledAt < ABORTING_MS;
  }

  /**
   * The tasks this thread took but has not started go back to the queue,
   * for its siblings: before it parks in a blocking call (`parking`: its
   * async tasks in flight wait with it), and when a batch runs long or
   * waits for a function to load (#runInOrder: those pinned to it by an
   * affinity key stay its own). `keep`: the task that waits, which stays.
   */
  handBack(parking: boolean, keep?: TaskMessage): void {
    const { poolId, threadId } = this.#s;
    const back: RequeuedTask[] = [];
    for (const t of this.#notStarted.values()) {
      if (t === keep) continue;
      this.#cuttable.delete(t.taskId);
      if (movedByPort(t.payload) === 0) {
        back.push([t.taskId, t.fnId, t.payload, t.transfers, false]);
        continue;
      }
      // Its buffers go back to the owner (before the task is queued
      // again), for whichever thread takes it next.
      this.#releaseBuffers(t, true, parking);
      back.push([t.taskId, t.fnId, t.payload, undefined, true]);
    }
    // All in one call, in take order: they go back to the front of the
    // queue as they were, before a sibling can take any (changed after
    // 0.1.1: one call per task ran them reversed).
    if (back.length > 0) native.poolRequeue(poolId, threadId, back, parking);
    this.#notStarted.clear();
    if (keep) {
      this.#notStarted.add(keep);
      return;
    }
    // (A load under way goes on, for the function's next task; it holds
    // back nothing now. The thread pulls again after its blocking call.)
    this.#awaitingLoad = undefined;
  }

  /**
   * A task with buffers by port leaves this thread unrun: a wait for its
   * buffers ends; those it has go back to the owner when another thread
   * may run it (`requeued`), else they are dropped here. `parking`: the
   * thread will not read its port for a while, so buffers already on
   * their way are waited for and go back with the task.
   */
  #releaseBuffers(t: TaskMessage, requeued: boolean, parking = false): void {
    if (movedByPort(t.payload) === 0) return;
    const due = this.#buffersDue.get(t);
    this.#buffersDue.delete(t);
    this.#s.moves!.release(t.taskId, requeued ? t.transfers : undefined, parking);
    t.transfers = undefined;
    // (Ends the wait of the task that starts next, if it is this one.)
    due?.abandon();
  }

  /**
   * Runs the tasks taken, in order. `mailWaits`: a wait for the first
   * one's function just ended, and mail waits that this thread's loop may
   * not have read (a load that ran synchronously, or ended within
   * microtasks): the batch goes back as one that ran long would, before
   * that task, so that a cancelled one is dropped (native Requeue).
   */
  #runInOrder(mailWaits = false): void {
    if (this.#awaitingLoad) return;
    // Native's 0 (the rest stays here) holds till the batch ends: the pool
    // stops, or the thread retires.
    let stays = false;
    // Each task leaves the set as it starts (#run). A running task may hand
    // the rest back (a blocking call): the set empties, and the loop ends.
    for (let t = this.#notStarted.first; t !== undefined; t = this.#notStarted.first) {
      // (Before a wait for t's function or buffers: a wait that ends
      // within microtasks turns no loop, and reads no mail.)
      if (!stays && (mailWaits
        || (this.#batchBegan !== undefined && performance.now() - this.#batchBegan >= BATCH_RUNS_LONG_MS))) {
        // What is left goes back (when this ran from pull(), the loop turns
        // before the next take if mail waits), so that a cancel of a
        // task it holds is not held up behind the rest of the batch
        // (helper-107's repro-batch.mjs: the pool ended the thread for
        // ignoring a signal it never got), a cancelled task of the batch
        // does not run, and a runTimeout counts from a take near the
        // task's start. A batch of a function known to be quick, whose
        // tasks were not, goes back to the queue, in order, for an idle
        // sibling. Tasks pinned to this thread by a key (taken all at once,
        // whatever their functions) come back to it. Not once the pool
        // stops, nor the thread retires (native Pool::MayHandBack).
        stays = native.poolMayHandBack(this.#s.poolId, this.#s.threadId) === 0;
        if (!stays) {
          this.handBack(false);
          return;
        }
      }
      mailWaits = false;
      const f = this.#functions[t.fnId];
      const buffers = this.#buffersDue.get(t);
      if (typeof f !== 'function' || buffers) {
        const loading = typeof f === 'function' ? undefined : f ?? this.#load(t.fnId);
        this.#awaitingLoadOnly = buffers === undefined;
        this.#waitFor(t, Promise.all([loading, buffers?.arrived]), loading !== undefined);
        return;
      }
      if (this.#batchBegan === undefined && this.#notStarted.size > 1) this.#batchBegan = performance.now();
      this.#run(t, f);
    }
  }

  /**
   * The next task waits for its function to load (`loads`) and its
   * buffers to arrive; the rest wait behind it, for BATCH_RUNS_LONG_MS at
   * most while it loads (#handBackBehindLoad).
   */
  #waitFor(t: TaskMessage, ready: Promise<unknown>, loads: boolean): void {
    const { poolId, threadId } = this.#s;
    const handBackLater = loads && this.#notStarted.size > 1
      ? realSetTimeout(() => this.#handBackBehindLoad(t), BATCH_RUNS_LONG_MS) : undefined;
    if (this.#batchBegan !== undefined) this.#awaitingSince = performance.now();
    this.#awaitingLoad = t;
    // They may outlive the batch they came in, which the thread's next take
    // overwrites (TaskMessage.payload): each gets its bytes' own copy.
    // (pull() takes nothing while a task loads, so today no take comes
    // before they run; the copy keeps them safe should that change.)
    for (const u of this.#notStarted.values()) u.payload = copyOfBytes(u.payload);
    native.poolTaskLoading(poolId, threadId, t.taskId, true);
    ready.then(
      () => { if (this.#notStarted.has(t)) native.poolTaskLoading(poolId, threadId, t.taskId, false); },
      // (A wait for buffers ends in a rejection when the task left unrun: no longer here.)
      (e: unknown) => {
        if (!this.#notStarted.delete(t)) return;
        this.#releaseBuffers(t, false);
        // (A blockingCallInThread's caller is parked: its slot is answered,
        // as a task's that ran; the inbox it does not read would not end its wait.)
        if (this.#adoptSlot(t)) this.#fail(t.taskId, e, t.fnId);
      },
    ).finally(() => {
      if (handBackLater) realClearTimeout(handBackLater);
      // (Unless t left unrun already: a cancel or a hand-back ended this
      // wait, and another may have begun since.)
      if (this.#awaitingLoad === t) this.#stopAwaiting();
    });
  }

  /**
   * `t`'s function still loads, after BATCH_RUNS_LONG_MS: a module may take
   * long (a top-level await, a large import graph). The tasks taken behind
   * it go back, as those of a batch that runs long do, for an idle sibling,
   * or for this thread once it has loaded (it takes nothing meanwhile): none
   * waits behind the load here, nor has its runTimeout counting from this
   * take (helper-155: 6 calls of a loaded function, taken with a call whose
   * module loaded for 500 ms, timed out unstarted while a sibling idled).
   */
  #handBackBehindLoad(t: TaskMessage): void {
    if (this.#awaitingLoad !== t || this.#notStarted.size < 2) return;
    if (native.poolMayHandBack(this.#s.poolId, this.#s.threadId) !== 0) this.handBack(false, t);
  }

  /** The wait for the next task's function or buffers is over: the tasks behind it go on, and the thread looks for more. */
  #stopAwaiting(): void {
    this.#awaitingLoad = undefined;
    if (this.#batchBegan !== undefined) this.#batchBegan += performance.now() - this.#awaitingSince;
    this.#runInOrder(this.#awaitingLoadOnly && this.#notStarted.size > 0 && this.#s.hasMail());
    this.#s.onRoom();
  }

  /**
   * A blockingCallInThread task: this thread now answers its caller, whose
   * wait ends if this thread dies, and who refuses a blocking call of this
   * thread's to it (native bridgeAdopt). False, with the task failed as
   * cancelled, when the caller left already (a timeout). True for any
   * other task.
   */
  #adoptSlot(t: TaskMessage): boolean {
    const slot = replySlotOf(t.payload);
    if (slot === 0) return true;
    if (!native.bridgeAdopt(slot)) {
      this.#fail(t.taskId, new CancelledError(), t.fnId);
      return false;
    }
    this.#slots.set(t.taskId, slot);
    return true;
  }

  #run(t: TaskMessage, f: Function): void {
    this.#notStarted.delete(t);
    if (!this.#adoptSlot(t)) return;
    let result: unknown;
    let trace: TaskRunTraceMessage | undefined;
    // (Read now: the payload's bytes are the batch's, gone by the time an
    // async task settles.)
    const flatten = flattenOf(t.payload, this.#s.flattenInstances);
    this.#running = t.taskId;
    try {
      const args = decodeValue(t.payload, t.transfers, this.#s.values, 'args') as unknown[];
      if (traced(taskRunChannel)) {
        trace = { taskId: t.taskId, function: this.#labels[t.fnId] ?? (f.name || 'anonymous'), args, carrier: carrierOf(t.payload) };
        result = runTraced(trace, f, args);
      } else {
        result = f(...args);
      }
    } catch (e) {
      this.#fail(t.taskId, e, t.fnId);
      return;
    } finally {
      this.#running = undefined;
      // What it submitted to a pool this thread owns goes now, not after the rest of this turn's tasks.
      flushStaged();
    }
    if (!isThenable(result)) {
      this.#succeed(t.taskId, result, flatten);
      return;
    }
    this.#inflight.add(t.taskId);
    // Started: if this thread dies now, the task must not run again elsewhere.
    native.poolTaskStarted(this.#s.poolId, this.#s.threadId, t.taskId);
    Promise.resolve(result).then(
      (v) => {
        this.#inflight.delete(t.taskId);
        if (trace) settleTraced(trace, true, v);
        this.#succeed(t.taskId, v, flatten);
        this.#s.onRoom();
      },
      (e: unknown) => {
        this.#inflight.delete(t.taskId);
        if (trace) settleTraced(trace, false, e);
        this.#fail(t.taskId, e, t.fnId);
        this.#s.onRoom();
      });
  }

  #load(fnId: number): Promise<Function> {
    const bytes = native.poolGetFunction(this.#s.poolId, fnId);
    const d = deserialize(bytes!) as FunctionDescriptor;
    this.#labels[fnId] = d.label;
    // (A list's functions load before its values are read: their modules may register a class among them.)
    const loading = d.kind === 'multiple'
      ? Promise.all(d.fnIds.map((id) => this.fn(id))).then(() => this.#runMultiple)
      : loadFunction(d);
    this.#functions[fnId] = loading;
    loading.then((f) => { this.#functions[fnId] = f; }, () => { this.#functions[fnId] = undefined; });
    return loading;
  }

  /** callMultipleInThread's runner: each call in order; an error stops the rest. */
  readonly #runMultiple = (...calls: [number, unknown[]][]): unknown => {
    let i = 0;
    const next = (): unknown => {
      while (i < calls.length) {
        const [fnId, args] = calls[i++]!;
        const f = this.#functions[fnId];
        if (typeof f !== 'function') return (f ?? this.#load(fnId)).then(() => { i--; return next(); });
        const r = f(...args);
        if (isThenable(r)) return Promise.resolve(r).then(next);
      }
      return undefined;
    };
    return next();
  };

  /**
   * Task `taskId` ended; its outcome is encoded next (every path to the
   * outbox, post, postMoved and answer, comes through here first).
   */
  #ended(taskId: number): void {
    // While this thread holds a task that may be cancelled, what it
    // printed that its streams still buffer leaves first: its result, held
    // behind that output, is posted by native even if the pool terminates
    // this thread before its loop runs again, and the output would die
    // with it (#cuttable). Before the encoding: this runs write callbacks,
    // user code that may encode a call of its own into the buffers the
    // outcome would be encoded in.
    if (this.#cuttable.size > 0) {
      this.#cuttable.delete(taskId);
      if (this.#cuttable.size > 0) this.#s.outbox.postBufferedOutput();
    }
    if (this.#controllers.size) this.#controllers.delete(taskId);
    if (this.#cancelled.size) this.#cancelled.delete(taskId);
    this.#s.onSettled();
  }

  /** Task `taskId` returned `value`, to cross flattened (flattenInstances) or not. */
  #succeed(taskId: number, value: unknown, flatten: boolean): void {
    this.#ended(taskId);
    let encoded;
    try {
      // Shared memory can go back by port, not to a blocking caller's reply slot.
      const shares = this.#s.moves !== undefined && !this.#slots.has(taskId);
      encoded = encodeResult(value, this.#s.values, flatten, shares);
      // (Else native refuses it as it is posted, out of this try: the thread would die of it.)
      checkPayloadSize(encoded.bytes.length, 'the result');
    } catch (e) {
      this.#report(taskId, e instanceof ValueNotCloneableError ? e : new ValueNotCloneableError('the result', e));
      return;
    }
    if (this.#answer(taskId, true, encoded.bytes, encoded.transfers)) return;
    const { moves } = this.#s;
    if (moves && movesByPort(encoded.transfers)) {
      // Its buffers go by port, moved. The result goes first, natively,
      // without a wake-up; the buffers' message wakes the owner, who then
      // finds both: one wake-up, not two.
      const buffers = encoded.transfers;
      this.#s.outbox.postMoved(taskId, markMovedByPort(encoded.bytes, buffers.length),
        () => moves.sendResult(taskId, buffers));
      return;
    }
    this.#s.outbox.post(taskId, TaskStatus.Fulfilled, encoded.bytes, encoded.transfers);
  }

  #fail(taskId: number, error: unknown, fnId?: number): void {
    this.#ended(taskId);
    this.#report(taskId, error, fnId);
  }

  /**
   * A task's failure, its stack closed by a boundary line that names what
   * ran where: `--- add() in reactor#1 ---`; the caller's side adds its
   * own frames below it when asked to (deferToThread.with({ callerStack })).
   */
  #report(taskId: number, error: unknown, fnId?: number): void {
    const what = fnId !== undefined ? `${this.#labels[fnId] ?? 'a task'}()` : 'a task';
    const bytes = serializeUserFailure(error, `${what} in ${this.#s.threadName}`);
    if (this.#answer(taskId, false, bytes, undefined)) return;
    this.#s.outbox.post(taskId, TaskStatus.Rejected, bytes);
  }

  /**
   * A blockingCallInThread task's outcome goes to its caller's reply slot
   * (moved buffers copied natively: a parked caller reads no port); the
   * owner's inbox gets only the task's end, for the pool's books and its
   * table. False for an ordinary task.
   */
  #answer(taskId: number, ok: boolean, bytes: Uint8Array, transfers: ArrayBuffer[] | undefined): boolean {
    const slot = this.#slots.get(taskId);
    this.#answeredLast = slot !== undefined;
    if (slot === undefined) return false;
    this.#slots.delete(taskId);
    // One native call ends the task in the pool, then answers: the pool
    // counts this thread as coming back (ThreadRecord::returning) before
    // the woken caller queues its next call, and a termination cannot
    // fall between the two.
    this.#s.outbox.answer(taskId, ok ? TaskStatus.AnsweredFulfilled : TaskStatus.AnsweredRejected, slot,
      ok ? CallStatus.Fulfilled : CallStatus.Rejected, bytes, transfers);
    return true;
  }
}
