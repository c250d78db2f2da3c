// Tracing, by Node's diagnostics_channel TracingChannel convention (the
// one undici, fastify and Node's own http follow), so that OpenTelemetry or
// any APM can follow a task across the hop without this package knowing
// them. Two channels:
//
// - `reactor-threads.task`, on the caller's thread: `start` as the call is
//   made (synchronously, in the caller's context), `end` when the call has
//   returned, `error` if the task failed, and `asyncStart`/`asyncEnd`
//   around the delivery of its outcome (the Promise's settlement, or
//   onResult). A `start` subscriber may set `message.carrier` to a plain
//   object of strings (a W3C `traceparent` and `tracestate`, say): it
//   travels with the task.
// - `reactor-threads.task.run`, in the pool thread: `start` just before the
//   function runs, with the caller's `carrier`; `end` when it returned,
//   `asyncStart`/`asyncEnd` when its Promise settled, `error` if it threw or
//   rejected. A store bound to its `start` (`bindStore`) is the function's
//   async context: that is how a subscriber restores the caller's trace
//   context in the thread.
//
// Nothing is published, and nothing costs, while a channel has no
// subscriber. Runs on every thread. Tests: test/tracing.ts.
import { tracingChannel, type TracingChannel } from 'node:diagnostics_channel';
import { isThenable } from './thenable.js';
import type { TaskRunTraceMessage, TaskTraceMessage, TraceCarrier } from './public/tracing.js';

export type { TaskRunTraceMessage, TaskTraceMessage, TraceCarrier };

export const TASK_CHANNEL = 'reactor-threads.task' as const;
export const TASK_RUN_CHANNEL = 'reactor-threads.task.run' as const;

export const taskChannel: TracingChannel<TaskTraceMessage> = tracingChannel(TASK_CHANNEL);
export const taskRunChannel: TracingChannel<TaskRunTraceMessage> = tracingChannel(TASK_RUN_CHANNEL);

/**
 * Whether anyone listens on `channel`. (TracingChannel.hasSubscribers
 * came in Node 20.13; this package supports 20.11.)
 */
export function traced(channel: TracingChannel<object>): boolean {
  return channel.start.hasSubscribers || channel.end.hasSubscribers || channel.asyncStart.hasSubscribers
    || channel.asyncEnd.hasSubscribers || channel.error.hasSubscribers;
}

/**
 * The carrier a subscriber set, copied once into a plain object of
 * strings; undefined if it is anything else, or if reading it throws (a
 * getter): a subscriber's mistake must not make the call throw.
 */
export function carrierFrom(v: unknown): TraceCarrier | undefined {
  try {
    if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return undefined;
    const copy: TraceCarrier = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== 'string') return undefined;
      copy[k] = x;
    }
    return copy;
  } catch {
    return undefined;
  }
}

/** Thread: runs `f(...args)` as the run channel's synchronous part (its start store active). */
export function runTraced(message: TaskRunTraceMessage, f: Function, args: unknown[]): unknown {
  return taskRunChannel.start.runStores(message, () => {
    try {
      const result = f(...args) as unknown;
      // (As TracingChannel.traceSync: a value is on the message at `end`; a Promise's comes at asyncStart.)
      if (!isThenable(result)) message.result = result;
      return result;
    } catch (e) {
      message.error = e;
      taskRunChannel.error.publish(message);
      throw e;
    } finally {
      taskRunChannel.end.publish(message);
    }
  });
}

/** Thread: a traced run's Promise settled. */
export function settleTraced(message: TaskRunTraceMessage, ok: boolean, value: unknown): void {
  if (ok) {
    message.result = value;
  } else {
    message.error = value;
    taskRunChannel.error.publish(message);
  }
  taskRunChannel.asyncStart.publish(message);
  taskRunChannel.asyncEnd.publish(message);
}

