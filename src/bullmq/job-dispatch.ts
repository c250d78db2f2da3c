// How a worker hands its jobs to its local pool. BullMQ gives a worker
// its jobs one at a time, but several in one turn of the event loop (at
// concurrency 8, about four a turn under load: the replies of several
// fetches read at once). Each pool submission made alone is one native
// push and, the pool's threads being parked between sparse jobs, one
// wake-up of a thread, then one of this thread for its result. So the
// jobs of a turn wait for the turn's end (one `schedule` callback) and
// go to the pool together: one push and one wake-up for all of them,
// whose results come back together too. A job is a task whose outcome
// comes to a sink, cancelled through the pool (kCancel; kAbort, by its
// signal alone) and timed by it (kTimeouts), as
// deferToThreadPool.with({ signal, runTimeout }) would, without the
// AbortController, listeners and wrappers that path costs.
// Worker's main thread. Tests: test/bullmq-dispatch.ts.
import { CancelledError } from '../errors/errors.js';
import type { TaskSink } from '../pool/tasks.js';
import type { JobOutcome, JobRun } from './job-runner.js';

/** What the dispatcher needs of the pool (serve.ts wires a ThreadPool's internals; tests a fake). */
export interface DispatchPool {
  /** Queues a run; its outcome reaches `sink`, later. Returns the task's id, or 0 when nothing was queued. */
  submit(run: JobRun, sink: TaskSink): number;
  /** Withdraws or aborts task `taskId`, which settles its sink with `reason`. */
  cancel(taskId: number, reason: unknown): void;
  /**
   * Withdraws task `taskId` if queued, settling its sink with `reason`, or
   * aborts it by its signal alone: its sink settles when its thread ends
   * it, and the thread is never terminated for it.
   */
  abort(taskId: number, reason: unknown): void;
  /** Cancels task `taskId` with a TaskTimeoutError once it ran `runTimeout` ms. */
  timeout(taskId: number, runTimeout: number): void;
}

/** A job handed to the dispatcher. */
export interface DispatchedJob {
  /** Its run's outcome: a JobOutcome, or a rejection (a CancelledError, a TaskTimeoutError, a dead thread). */
  readonly outcome: Promise<JobOutcome>;
  /** Cancels it: its outcome rejects with a CancelledError of `reason` (at once if it was not submitted yet). */
  cancel(reason: unknown): void;
  /**
   * Asks it to abort by its signal alone: not submitted yet, or queued, it
   * is cancelled; running, its outcome is what its task ends with, however
   * late (cancel() may follow).
   */
  abort(reason: unknown): void;
}

interface Waiting {
  readonly run: JobRun;
  readonly runTimeout: number | undefined;
  readonly sink: { settle(ok: boolean, value: unknown): void };
  /** Its task's id once submitted (0 before, or when the pool queued nothing). */
  taskId: number;
  /** Its outcome is settled (by the pool, or by a cancel before it was submitted). */
  settled: boolean;
}

export class JobDispatcher {
  readonly #pool: DispatchPool;
  readonly #schedule: (f: () => void) => void;
  /** This turn's jobs, submitted together at its end. */
  #waiting: Waiting[] = [];
  readonly #submitWaiting = (): void => {
    const jobs = this.#waiting;
    this.#waiting = [];
    // (In one synchronous run: the pool stages them and pushes them once.)
    for (const job of jobs) if (!job.settled) this.#submit(job);
  };

  /** `schedule` runs a callback at the end of this turn (setImmediate: after the I/O just read). */
  constructor(pool: DispatchPool, schedule: (f: () => void) => void = setImmediate) {
    this.#pool = pool;
    this.#schedule = schedule;
  }

  /** Jobs waiting for the turn's end. */
  get waiting(): number { return this.#waiting.length; }

  /** Hands a job's run to the pool, with this turn's other jobs. */
  dispatch(run: JobRun, runTimeout: number | undefined): DispatchedJob {
    let resolve!: (outcome: JobOutcome) => void;
    let reject!: (e: unknown) => void;
    const outcome = new Promise<JobOutcome>((res, rej) => { resolve = res; reject = rej; });
    const job: Waiting = {
      run, runTimeout, taskId: 0, settled: false,
      sink: {
        settle(ok: boolean, value: unknown): void {
          if (job.settled) return;
          job.settled = true;
          if (ok) resolve(value as JobOutcome); else reject(value);
        },
      },
    };
    this.#waiting.push(job);
    if (this.#waiting.length === 1) this.#schedule(this.#submitWaiting);
    return {
      outcome,
      cancel: (reason: unknown): void => {
        if (job.settled) return;
        // Submitted: the pool withdraws or aborts it, and settles it. Not yet: it never will be.
        if (job.taskId !== 0) this.#pool.cancel(job.taskId, new CancelledError(reason));
        else job.sink.settle(false, new CancelledError(reason));
      },
      abort: (reason: unknown): void => {
        if (job.settled) return;
        if (job.taskId !== 0) this.#pool.abort(job.taskId, new CancelledError(reason));
        else job.sink.settle(false, new CancelledError(reason));
      },
    };
  }

  #submit(job: Waiting): void {
    job.taskId = this.#pool.submit(job.run, job.sink);
    // (0: not queued; its failure reaches the sink.)
    if (job.taskId !== 0 && job.runTimeout !== undefined) this.#pool.timeout(job.taskId, job.runTimeout);
  }
}
