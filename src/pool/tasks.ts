// A pool's table of tasks in flight: each one's sink, the reactor callables
// it carries, and the one path by which a task ends for its caller
// (settle). Every other part of the pool (results, cancels, timeouts,
// deaths, stop) ends a task through it, so a sink is answered once.
// Owner thread only. Tests: test/threadpool-fake-threads.ts,
// test/threadpool-callbacks.ts.
import { decodeValue } from '../codec/codec.js';
import { CancelledError, decodeThrow, type EncodedThrow } from '../errors/errors.js';
import type { ThreadRuntime } from '../runtime/this-thread.js';
import { IdTable } from './id-table.js';
import { TaskStatus, type InboxMessage } from '../base/wire.js';

/**
 * How a submitted task's outcome is delivered, on the owner thread: an
 * object whose settle() is called, or a Promise's resolve function alone
 * (deferToThread's: a failure is passed as a rejected Promise, which the
 * caller's Promise adopts), which saves a reject function and a wrapper
 * per queued task, since every byte here is multiplied by the queue's
 * length.
 */
export type TaskSink = { settle(ok: boolean, value: unknown): void } | ((value: unknown) => void);

/** Delivers an outcome to a sink. */
export function settleSink(sink: TaskSink, ok: boolean, value: unknown): void {
  if (typeof sink !== 'function') sink.settle(ok, value);
  else sink(ok ? value : Promise.reject(value));
}

/**
 * What the table needs of its thread: the reactor core keeps the loop
 * alive while tasks are in flight, the callables table releases what a
 * task carried, and the value context decodes results.
 */
export type TaskTableThread = Pick<ThreadRuntime, 'core' | 'callables' | 'values'>;

export class TaskTable {
  readonly #thread: TaskTableThread;
  readonly #onSettle: (id: number) => void;
  /** Tasks whose caller has no answer yet (an IdTable: 8 bytes a task, not a Map's 36). */
  readonly #sinks = new IdTable<TaskSink>();
  /**
   * Reactor callables handed to a task, released when the task settles
   * for its caller: one its thread still runs after a cancel or a timeout
   * gets a CallableReleasedError from them (changed after 0.1.1: they
   * stayed callable until its thread was done, so a caller that cancelled
   * and tore down its state still had its callbacks run, for up to
   * cancelGrace: helper-142).
   */
  readonly #handles = new Map<number, number[]>();
  #withdrawn = 0;

  /**
   * `onSettle` runs before each settle: a task left the queue or its
   * thread (the pool announces room, and drops the task's timers).
   */
  constructor(thread: TaskTableThread, onSettle: (id: number) => void) {
    this.#thread = thread;
    this.#onSettle = onSettle;
  }

  /** Tasks whose caller has no answer yet. */
  get size(): number { return this.#sinks.size; }
  /** Tasks withdrawn or aborted by their signal or a timeout (pool.stats().cancelled). */
  get withdrawn(): number { return this.#withdrawn; }

  /** Whether task `id` still waits for its answer. */
  has(id: number): boolean { return this.#sinks.has(id); }

  /**
   * A task was queued: from now on only settle() ends it. Its result is
   * delivered on this thread, later, so registering after the push is safe.
   */
  add(id: number, sink: TaskSink, handles: number[]): void {
    this.#sinks.set(id, sink);
    if (handles.length > 0) this.#handles.set(id, handles);
    this.#thread.core.hold();
  }

  /**
   * The one path by which a task ends for its caller: its sink is answered
   * once, the reactor callables it carries are released, and the loop's
   * hold is released.
   */
  settle(id: number, ok: boolean, value: unknown): void {
    this.#onSettle(id);
    const handles = this.#handles.get(id);
    if (handles) {
      this.#handles.delete(id);
      this.#thread.callables.release(handles);
    }
    const sink = this.#sinks.take(id);
    if (!sink) return;
    this.#thread.core.release();
    settleSink(sink, ok, value);
  }

  /** Settles a task its caller or a timeout withdrew, counting it as cancelled. */
  withdraw(id: number, reason: unknown): void {
    this.#withdrawn++;
    this.settle(id, false, reason);
  }

  /** A task's result arrived in the owner's inbox: decode it and settle. */
  deliver(m: InboxMessage): void {
    if (m.status === TaskStatus.Dropped) {
      // Its caller has its answer already (and what it carried was freed then).
      this.settle(m.id, false, new CancelledError());
      return;
    }
    if (m.status === TaskStatus.AnsweredFulfilled || m.status === TaskStatus.AnsweredRejected) {
      // A blockingCallInThread task: its caller took the outcome from its
      // reply slot; this ends it in the table (its sink does nothing).
      this.settle(m.id, m.status === TaskStatus.AnsweredFulfilled, undefined);
      return;
    }
    let ok = m.status === TaskStatus.Fulfilled;
    let value: unknown;
    try {
      value = decodeValue(m.payload, m.transfers, this.#thread.values, ok ? 'the result' : 'the error');
      if (!ok) value = decodeThrow(value as EncodedThrow);
    } catch (e) {
      ok = false;
      value = e;
    }
    this.settle(m.id, ok, value);
  }

  /** Every task not answered yet, in submission order. */
  open(): number[] {
    return this.#sinks.ids();
  }
}
