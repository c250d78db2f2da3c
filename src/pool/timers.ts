// A task's cancellation and timers: a cancel withdraws a queued task or
// tells its thread to abort it; queueTimeout withdraws a task still
// queued; runTimeout cancels one that ran too long; a cancelled task that
// still runs after cancelGrace loses its thread; an abort (its signal
// alone) never ends a thread. Each ends the task through the task table's
// one settle path, never on its own. Timers run on the clock the pool was
// handed. Owner thread only.
// Tests: test/threadpool-fake-threads.ts, test/cancellation.ts.
import { TaskTimeoutError } from '../errors/errors.js';
import { native } from '../reactor/native.js';
import type { Clock } from './collaborators.js';
import type { TaskTable } from './tasks.js';

export interface TimersContext {
  readonly poolId: number;
  readonly clock: Clock;
  readonly tasks: TaskTable;
  /** ms a cancelled task may run on before its thread is terminated (options.cancelGrace). */
  readonly cancelGrace: number;
  /** True once stop() has finished and the native pool is gone. */
  gone(): boolean;
  /**
   * Takes task `taskId` out of the owner's stage of this turn's calls if it
   * is there (true: it never reaches native). A queue timeout that fake
   * timers fire within the turn of its call finds it there.
   */
  unstage(taskId: number): boolean;
  /** Terminates the thread (if it still lives), recording why; it is replaced. */
  terminate(threadId: number, why: string): void;
}

/** How often a run timeout looks whether a thread took its task yet (ms at most). */
const TAKEN_POLL_MS = 10;

export class TaskTimers {
  readonly #ctx: TimersContext;
  /**
   * The armed queue and run timers of each watched task, cleared when the
   * task settles (forget()): a pool that runs a million tasks a minute
   * with a one-minute queueTimeout must not keep a million timers.
   */
  readonly #armed = new Map<number, { queue?: unknown; run?: unknown }>();
  /**
   * Cancelled tasks a thread still ran when they were cancelled, while
   * their cancelGrace runs: task id -> its thread, which is terminated when
   * the grace ends if it still runs the task (mayTerminate).
   */
  readonly #graced = new Map<number, number>();

  constructor(ctx: TimersContext) {
    this.#ctx = ctx;
  }

  /** Task `taskId` settled: its timeouts are moot. */
  forget(taskId: number): void {
    const armed = this.#armed.get(taskId);
    if (!armed) return;
    this.#armed.delete(taskId);
    const { clock } = this.#ctx;
    if (armed.queue !== undefined) clock.clearTimeout(armed.queue);
    if (armed.run !== undefined) clock.clearTimeout(armed.run);
  }

  /** A timer of the task fired and armed nothing new: forget it once none is left. */
  #disarmed(taskId: number, armed: { queue?: unknown; run?: unknown }): void {
    if (armed.queue === undefined && armed.run === undefined && this.#armed.get(taskId) === armed) this.#armed.delete(taskId);
  }

  #arm(taskId: number): { queue?: unknown; run?: unknown } {
    let armed = this.#armed.get(taskId);
    if (!armed) this.#armed.set(taskId, armed = {});
    return armed;
  }

  /**
   * Withdraws a task, settling it with `reason`. A queued one is removed
   * and never runs. One a thread holds is asked to abort (its signal
   * fires); its caller has its answer now, its later result is dropped,
   * and if it still runs after cancelGrace its thread is terminated and
   * replaced. A task that already completed (its result on its way) is
   * left to that result.
   */
  cancel(taskId: number, reason: unknown): void {
    const { poolId, tasks } = this.#ctx;
    if (this.#ctx.gone() || !tasks.has(taskId)) return;
    const r = native.poolCancel(poolId, taskId);
    if (r === 0) return;
    tasks.withdraw(taskId, reason);
    if (r > 1) this.#terminateIfStillRunning(taskId, r - 1);
  }

  /**
   * Asks a task to abort by its signal alone. A queued one is withdrawn
   * with `reason`, as cancel() does. One a thread holds sees its signal
   * abort, and is left to end by itself: it settles with what its thread
   * answers, however long that takes; its thread is never terminated for
   * it, and its run timeout is dropped (a timeout cancels, and a cancel may
   * end the thread). For a task whose thread may run another that must not
   * die with it: serveBullMQ's earlier run of a job its worker took again,
   * whose later run may share the thread. cancel() may follow, to end it
   * as any other.
   */
  abort(taskId: number, reason: unknown): void {
    const { poolId, tasks } = this.#ctx;
    if (this.#ctx.gone() || !tasks.has(taskId)) return;
    this.forget(taskId);
    if (native.poolCancel(poolId, taskId) === 1) tasks.withdraw(taskId, reason);
  }

  /**
   * The call's timeouts. queueTimeout counts from now and withdraws a task
   * still queued; runTimeout counts from the moment a thread takes the
   * task (again, if it is handed back and taken anew), then cancels it as
   * cancel() does. Either settles the task with a TaskTimeoutError.
   */
  watch(taskId: number, queueTimeout: number | undefined, runTimeout: number | undefined): void {
    // Settled already (no thread could start to run it): nothing to watch.
    if (!this.#ctx.tasks.has(taskId)) return;
    if (queueTimeout !== undefined) this.#watchQueue(taskId, queueTimeout);
    if (runTimeout !== undefined) this.#watchRun(taskId, runTimeout);
  }

  #watchQueue(taskId: number, queueTimeout: number): void {
    const { poolId, clock, tasks } = this.#ctx;
    const armed = this.#arm(taskId);
    armed.queue = clock.setTimeout(() => {
      armed.queue = undefined;
      this.#disarmed(taskId, armed);
      if (!this.#ctx.gone() && tasks.has(taskId) && (this.#ctx.unstage(taskId) || native.poolCancel(poolId, taskId, true) === 1)) {
        tasks.withdraw(taskId, new TaskTimeoutError('queue', queueTimeout));
      }
    }, queueTimeout);
  }

  #watchRun(taskId: number, runTimeout: number): void {
    const { poolId, clock, tasks } = this.#ctx;
    // The take this deadline counts from (native ms), and the deadline on `clock`.
    let takenAt = 0;
    let deadline = 0;
    const armed = this.#arm(taskId);
    const check = (): void => {
      armed.run = undefined;
      if (this.#ctx.gone() || !tasks.has(taskId)) { this.#disarmed(taskId, armed); return; }
      const t = native.poolTakenAt(poolId, taskId);
      // Still queued: look again soon; the clock starts when a thread takes it.
      if (t === 0) { armed.run = clock.setTimeout(check, Math.min(runTimeout, TAKEN_POLL_MS)); return; }
      if (t !== takenAt) {
        // Taken (anew) native.now() - t ms ago: the deadline is that far back
        // from now on `clock`, plus runTimeout.
        takenAt = t;
        deadline = clock.now() - (native.now() - t) + runTimeout;
      }
      const left = deadline - clock.now();
      if (left > 0) { armed.run = clock.setTimeout(check, Math.ceil(left)); return; }
      this.#disarmed(taskId, armed);
      this.cancel(taskId, new TaskTimeoutError('run', runTimeout));
    };
    armed.run = clock.setTimeout(check, Math.min(runTimeout, TAKEN_POLL_MS));
  }

  /**
   * Whether thread `threadId` runs a cancelled task whose cancelGrace has
   * not ended: the pool terminates it then, unless the task ends first.
   * (Asked of each task sent to a thread with buffers ahead of it, which
   * would die with the thread: a few tasks at most are in their grace.)
   */
  mayTerminate(threadId: number): boolean {
    const { poolId } = this.#ctx;
    for (const [taskId, holder] of this.#graced) {
      // (Ended: native alone knows, as at the grace's end.)
      if (holder === threadId && native.poolTakenAt(poolId, taskId) !== 0) return true;
    }
    return false;
  }

  #terminateIfStillRunning(taskId: number, threadId: number): void {
    const { poolId, clock, cancelGrace } = this.#ctx;
    // (Never terminated: nothing to tell mayTerminate.)
    if (!Number.isFinite(cancelGrace)) return;
    this.#graced.set(taskId, threadId);
    clock.setTimeout(() => {
      this.#graced.delete(taskId);
      // Settled already: native alone knows whether a thread still runs it.
      if (this.#ctx.gone() || native.poolTakenAt(poolId, taskId) === 0) return;
      this.#ctx.terminate(threadId, `a cancelled task ignored its signal for ${cancelGrace} ms`);
    }, cancelGrace);
  }
}
