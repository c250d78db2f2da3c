// Hand-stepped stand-ins for a pool's collaborators (as Twisted's
// _threads/_memory.py): FakeThreads starts FakeThread objects that run nothing
// until the test steps them, and FakeClock runs timers only when the test
// advances it. A FakeThread steps the REAL native pool from the test
// thread: it attaches, takes batches and completes tasks exactly as
// src/thread/worker.ts does, so the pool's JS logic (lifecycle, respawn, timers,
// settlement) meets the native queue it runs on in production.
//
// poolAttach binds the calling environment's reactor, here the test
// thread's: wake-ups meant for the fake (new work, a cancel) reach the
// test thread, which ignores them; the test steps the fake instead.
// Results posted by complete() reach the pool's owner (the test thread)
// on a wake-up, so a test awaits the task, never a sleep.
// Test thread only. Used by test/threadpool-fake-threads.ts.
import { EventEmitter } from 'node:events';
import { deserialize, serialize } from 'node:v8';
import { encodeThrow } from '../../dist/errors/errors.js';
import { native } from '../../dist/reactor/native.js';
import type { Clock, PoolThread, ThreadStarter, ThreadStartOptions } from '../../dist/pool/collaborators.js';
import type { PoolThreadData } from '../../dist/base/pool-thread-data.js';
import { decodeValue, encodeArgs, encodeResult } from '../../dist/codec/codec.js';
import { thisThread } from '../../dist/runtime/this-thread.js';
import { readTasks, TaskStatus, type FunctionDescriptor } from '../../dist/base/wire.js';
import { kFlush } from '../../dist/pool/threadpool.js';

/** A task a fake thread took: its id, the label of its function, and its arguments. */
export interface FakeTask {
  id: number;
  fnId: number;
  label: string;
  args: unknown[];
}

/** What poolTake answered when it gave no tasks. */
export type NoTasks = 'none' | 'stopping' | 'retire' | 'left';

/** A pool thread that does only what the test tells it, on the test thread. */
export class FakeThread extends EventEmitter implements PoolThread {
  readonly data: PoolThreadData;
  readonly options: ThreadStartOptions;
  /** Whether the pool holds the owner's loop open for this thread (ref) or not (unref). */
  refed = true;
  /** How many times the pool asked to terminate it. */
  terminations = 0;
  /** The code it exited with; undefined while it lives. */
  exitCode: number | undefined;

  readonly #beforeTake: () => void;

  constructor(data: PoolThreadData, options: ThreadStartOptions, beforeTake: () => void) {
    super();
    this.data = data;
    this.options = options;
    this.#beforeTake = beforeTake;
  }

  get threadId(): number { return this.data.threadId; }

  /** The thread started: it binds a reactor (the test thread's) and may take work. */
  attach(): this {
    this.#alive();
    native.poolAttach(this.data.poolId, this.data.threadId);
    return this;
  }

  /** One poolTake with no spin: up to `max` tasks, in the order taken, or why there are none. */
  take(max = 1): FakeTask[] | NoTasks {
    this.#alive();
    this.#beforeTake();
    const r = native.poolTake(this.data.poolId, this.data.threadId, max, 0, 0, false);
    if (r === 0) return 'none';
    if (r === 1) return 'stopping';
    if (r === 2) return 'retire';
    if (r === 3) return 'left';
    const [batch, transfers] = Array.isArray(r) ? r : [r, undefined];
    return [...readTasks(batch, transfers)].map((t) => ({
      id: t.taskId,
      fnId: t.fnId,
      label: (deserialize(native.poolGetFunction(this.data.poolId, t.fnId)!) as FunctionDescriptor).label,
      args: decodeValue(t.payload, t.transfers, thisThread().values) as unknown[],
    }));
  }

  /**
   * take() until `max` tasks are held or none is left, for a step that must
   * yield tasks (native takes a task of a function that never ran alone:
   * native/pool.h Take()).
   */
  takeTasks(max = 1): FakeTask[] {
    const got: FakeTask[] = [];
    while (got.length < max) {
      const r = this.take(max - got.length);
      if (typeof r !== 'string') { got.push(...r); continue; }
      if (got.length === 0) throw new Error(`fake thread ${this.threadId} expected tasks, the pool answered '${r}'`);
      break;
    }
    return got;
  }

  /** The task went async: if the thread dies now, it must not run again elsewhere. */
  markStarted(taskId: number): void {
    this.#alive();
    native.poolTaskStarted(this.data.poolId, this.data.threadId, taskId);
  }

  /**
   * The thread parks in a blocking call and hands back tasks it took but
   * has not started, in take order (as src/thread/task-runner.ts does
   * before parking).
   */
  handBack(...tasks: FakeTask[]): void {
    this.#alive();
    native.poolRequeue(this.data.poolId, this.data.threadId, tasks.map((task) => {
      const { bytes, transfers } = encodeArgs(task.args, thisThread().values, null);
      // (A copy: the encoder may reuse its buffer for the next task's.)
      return [task.id, task.fnId, bytes.slice(), transfers, false];
    }), true);
  }

  /** The thread ran its maxTasksPerThread (or passed maxHeapPerThread): it takes no more and exits once idle. */
  recycle(): void {
    this.#alive();
    native.poolRecycle(this.data.poolId, this.data.threadId);
  }

  /** The task returned `value` (encoded as src/thread/worker.ts encodes results). */
  complete(taskId: number, value: unknown): void {
    this.#alive();
    const { bytes, transfers } = encodeResult(value, thisThread().values);
    native.poolComplete(this.data.poolId, this.data.threadId, taskId, TaskStatus.Fulfilled, bytes, transfers);
  }

  /** The task threw `error`. */
  fail(taskId: number, error: unknown): void {
    this.#alive();
    native.poolComplete(this.data.poolId, this.data.threadId, taskId, TaskStatus.Rejected, serialize(encodeThrow(error)));
  }

  /** The thread ended with `code` (0: it chose to, as a retiring or stopping thread does). */
  exit(code = 0): void {
    this.#alive();
    this.exitCode = code;
    this.emit('exit', code);
  }

  /** An uncaught error ended the thread: 'error', then 'exit' with code 1, as a Worker reports it. */
  die(error: unknown = new Error('the fake thread crashed')): void {
    this.#alive();
    this.emit('error', error);
    this.exit(1);
  }

  /** The pool asks it to end; it ends when the test says so (exit(1), as a terminated Worker). */
  terminate(): Promise<number> {
    this.terminations++;
    return new Promise((resolve) => this.once('exit', resolve));
  }

  ref(): void { this.refed = true; }
  unref(): void { this.refed = false; }

  #alive(): void {
    if (this.exitCode !== undefined) throw new Error(`fake thread ${this.threadId} already exited (code ${this.exitCode})`);
  }
}

/** The pool's thread starter: every thread it starts, and refusals on demand. */
export class FakeThreads {
  readonly #all: FakeThread[] = [];
  /** Starts refused so far. */
  refused = 0;
  #refusals: { left: number; error: unknown } | undefined;
  /**
   * The pool's: a real thread takes from the native queue on a later
   * turn, when what was submitted this turn has been pushed; a fake one
   * takes at once, so it pushes it first (ThreadPool[kFlush]).
   */
  pool: { [kFlush](): void } | undefined;

  /** Pass as the pool's `startThread`. */
  readonly start: ThreadStarter = (data, options) => {
    if (this.#refusals && this.#refusals.left > 0) {
      this.#refusals.left--;
      this.refused++;
      throw this.#refusals.error;
    }
    const thread = new FakeThread(data, options, () => this.pool?.[kFlush]());
    this.#all.push(thread);
    return thread;
  };

  /**
   * Every thread started, in order. (A real pool starts threads for what
   * was submitted this turn once it pushes it, at the end of the turn;
   * reading the threads pushes it first, so a test sees them at once.)
   */
  get all(): FakeThread[] {
    this.pool?.[kFlush]();
    return this.#all;
  }

  /** The next `times` starts throw `error`, as `new Worker` does for an invalid execArgv. */
  refuseNext(times: number, error: unknown): void {
    this.#refusals = { left: times, error };
  }

  /** The thread started last. */
  get last(): FakeThread {
    const t = this.all.at(-1);
    if (!t) throw new Error('no thread was started');
    return t;
  }

  /** Threads that have not exited. */
  get live(): FakeThread[] {
    return this.all.filter((t) => t.exitCode === undefined);
  }
}

interface Timer { at: number; seq: number; f: () => void }

/** A clock that moves only when the test advances it. */
export class FakeClock implements Clock {
  #now = 0;
  #seq = 0;
  readonly #timers = new Map<number, Timer>();

  now(): number { return this.#now; }

  setTimeout(f: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), seq: id, f });
    return id;
  }

  clearTimeout(timer: unknown): void {
    this.#timers.delete(timer as number);
  }

  /** Timers not yet run. */
  get pending(): number { return this.#timers.size; }

  /**
   * Moves time forward by `ms`, running each timer that falls due on the
   * way at its own time, in order (timers it sets run too, if due).
   */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, Timer] | undefined;
      for (const e of this.#timers) {
        if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq))) next = e;
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].f();
    }
    this.#now = end;
  }
}
