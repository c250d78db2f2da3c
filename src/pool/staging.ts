// A pool's plain submissions of one turn, pushed to native together. Each
// native push takes the pool's lock (twice) and may wake a thread with a
// syscall, and on trivial tasks the owner's submit path is the bottleneck
// of the whole pool: so submissions are staged here and pushed as one
// batch (native Pool::PushBatch: one lock, at most one wake-up, the pool
// threads wake each other for the rest) at the end of the current turn's
// synchronous code (a microtask), or as soon as STAGE_MAX are staged, so
// that a long burst keeps the threads busy while it is being submitted.
// Only tasks with nothing that must leave the caller at once go through
// here (no moved buffers, no affinity key): see ThreadPool[kSubmit].
// Owner thread only. Tests: test/submission-batches.ts.
import { CUTTABLE } from '../codec/codec.js';
import { writeFastList } from '../codec/fast-codec.js';
import { checkPayloadSize, grownFrom, viewOf } from '../base/byte-views.js';
import { SmallSet } from '../base/small-set.js';

/** Staged tasks pushed at once, at most. */
export const STAGE_MAX = 256;

/** Per task: f64 id | u32 function id | u32 byte length | payload (native/pool_bindings.cc PoolPushBatch). */
const TASK_HEADER = 16;

/** This thread's stages with submissions staged (flushStaged()). */
const staged = new SmallSet<SubmissionStage>();

/**
 * A flush at the end of the turn is a reaction to this: a microtask, as
 * queueMicrotask() would queue, without the AsyncResource and bound
 * function Node's queueMicrotask() allocates for each (about 350 bytes a
 * turn, on the owner's submit path).
 */
const RESOLVED = Promise.resolve();

/**
 * Pushes every stage of this thread now. A pool thread runs many tasks in
 * one turn (without a microtask checkpoint between them): what a task
 * submitted to a pool this thread owns must not wait for the turn's end.
 */
export function flushStaged(): void {
  if (staged.size === 0) return;
  for (const s of staged.values()) s.flush();
}

export class SubmissionStage {
  /** Pushes a batch of tasks, whose ids are `ids`, in order. */
  readonly #push: (batch: Uint8Array, ids: number[]) => void;
  #bytes = new Uint8Array(16 * 1024);
  /** The DataView of #bytes (src/base/byte-views.ts). */
  #view = viewOf(this.#bytes);
  #used = 0;
  #ids: number[] = [];
  /**
   * The ids of the batch pushed last, emptied: the next batch's, so that
   * a flush allocates no array (one grown by push() starts with room for
   * 17). Two, not one: a push may stage more (nothing does today).
   */
  #spareIds: number[] = [];
  #flushQueued = false;
  readonly #flushSoon = (): void => {
    this.#flushQueued = false;
    this.flush();
  };

  constructor(push: (batch: Uint8Array, ids: number[]) => void) {
    this.#push = push;
  }

  /** Tasks staged and not pushed yet. */
  get size(): number { return this.#ids.length; }

  /** Stages a task (its payload is copied now: it may be the codec's scratch buffer). */
  add(id: number, fnId: number, payload: Uint8Array): void {
    const at = this.#reserve(id, fnId, payload.length);
    this.#bytes.set(payload, at);
    this.#staged(id, at + payload.length);
  }

  /**
   * Stages a task whose arguments take the fast codec's path, written
   * straight into the batch (no scratch copy, no view object: the
   * commonest submission allocates nothing here). `bound`: their
   * fastListBound(), not -1. `cuttable`: marked as a call that may be
   * cancelled (markCuttable's byte).
   */
  addFast(id: number, fnId: number, args: readonly unknown[], bound: number, cuttable: boolean): void {
    const at = this.#reserve(id, fnId, cuttable ? bound + 1 : bound);
    if (cuttable) this.#bytes[at] = CUTTABLE;
    const end = writeFastList(args, this.#bytes, this.#view, cuttable ? at + 1 : at);
    this.#view.setUint32(at - TASK_HEADER + 12, end - at, true);
    this.#staged(id, end);
  }

  /** Room for a task of up to `length` payload bytes, its header written: where its payload goes. */
  #reserve(id: number, fnId: number, length: number): number {
    checkPayloadSize(length, 'a task\'s arguments');
    const need = this.#used + TASK_HEADER + length;
    if (need > this.#bytes.length) {
      this.#bytes = grownFrom(this.#bytes, this.#used, need);
      this.#view = viewOf(this.#bytes);
    }
    const view = this.#view;
    view.setFloat64(this.#used, id, true);
    view.setUint32(this.#used + 8, fnId, true);
    view.setUint32(this.#used + 12, length, true);
    return this.#used + TASK_HEADER;
  }

  /** Task `id`, whose payload ends at `end`, is staged; pushed with the rest soon. */
  #staged(id: number, end: number): void {
    this.#used = end;
    this.#ids.push(id);
    staged.add(this);
    if (this.#ids.length >= STAGE_MAX) this.flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      void RESOLVED.then(this.#flushSoon);
    }
  }

  /**
   * Takes task `id` out of the stage, if it is staged: true then, and it
   * is never pushed. (Pushed first, then cancelled, it could be taken
   * and run in between by a thread spinning for work: helper-156.)
   * Linear in what is staged, at most STAGE_MAX tasks: a withdrawal is rare.
   */
  withdraw(id: number): boolean {
    const i = this.#ids.indexOf(id);
    if (i < 0) return false;
    let at = 0;
    for (let k = 0; k < i; k++) at += TASK_HEADER + this.#view.getUint32(at + 12, true);
    const end = at + TASK_HEADER + this.#view.getUint32(at + 12, true);
    this.#bytes.copyWithin(at, end, this.#used);
    this.#used -= end - at;
    this.#ids.splice(i, 1);
    return true;
  }

  /**
   * Empties the stage, pushing nothing: the ids of the tasks it held, in
   * order (stop() without a drain rejects them; pushed, a thread spinning
   * for work could run some first).
   */
  discard(): number[] {
    staged.delete(this);
    const ids = this.#ids.slice();
    this.#ids.length = 0;
    this.#used = 0;
    return ids;
  }

  /** Pushes what is staged now (before anything that reads or changes the native queue). */
  flush(): void {
    staged.delete(this);
    if (this.#ids.length === 0) return;
    const ids = this.#ids;
    const batch = this.#bytes.subarray(0, this.#used);
    this.#ids = this.#spareIds;
    this.#used = 0;
    try {
      // (Native copies the batch before this returns: the buffer is reused.
      // The ids are read only while it runs.)
      this.#push(batch, ids);
    } finally {
      // (pop(), not length = 0, which would drop the array's room.)
      while (ids.length > 0) ids.pop();
      this.#spareIds = ids;
    }
  }
}
