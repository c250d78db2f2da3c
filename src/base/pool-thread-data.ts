// What a ThreadPool hands a new pool thread as its workerData. The owner
// (src/pool/threadpool.ts) writes it, the thread (src/thread/worker.ts) reads it.
import type { MessagePort } from 'node:worker_threads';

/** A module a pool thread imports before its first task (src/pool/preloads.ts); `register`: then calls its register(). */
export interface ThreadPreload {
  readonly url: string;
  readonly register: boolean;
}

export interface PoolThreadData {
  readonly kind: 'reactor-threads.pool-thread';
  readonly poolId: number;
  /** The reactor of the pool's owner: the one this thread serves. */
  readonly owner: number;
  readonly threadId: number;
  /** The Worker's name, `<pool name>#<thread id>`: how failures name where they ran. */
  readonly threadName: string;
  readonly concurrency: number;
  readonly idleTimeout: number;
  /** How long an idle thread spins for the next task before it waits in its loop. */
  readonly spinNs: number;
  /** Function ids (in the pool's table) of the hooks; 0: none. */
  readonly startHook: number;
  readonly exitHook: number;
  /** Recycle after this many tasks / above this heap (bytes); 0: never. */
  readonly maxTasks: number;
  readonly maxHeap: number;
  /** Modules it imports before anything else (src/pool/preloads.ts). */
  readonly preloads: readonly ThreadPreload[];
  /** The pool's flattenInstances: how its tasks' results cross, unless a task's payload says otherwise. */
  readonly flattenInstances: boolean;
  /**
   * The thread's end of the port that moves large buffers (in the
   * Worker's transferList); absent for threads that are not Workers
   * (tests' fakes), which are never sent any.
   */
  readonly movesPort?: MessagePort;
  /**
   * The thread's entry by the symlink's path, when the owner loaded the
   * package through one: src/thread/linked-entry.ts requires it.
   */
  readonly linkedEntry?: string;
}

export function isPoolThreadData(v: unknown): v is PoolThreadData {
  return typeof v === 'object' && v !== null
    && (v as { kind?: unknown }).kind === 'reactor-threads.pool-thread';
}
