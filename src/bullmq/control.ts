// What callers tell a queue's workers beside its jobs: today, "cancel job
// N". It travels as a custom event on a queue of its own (no jobs, only
// events), so workers read only these and not every job's events, and a
// worker that reconnects reads what it missed (events are a Redis stream).
// Caller's thread and the worker's main thread. Tests: test/bullmq-cancellation.ts.

/** The event name of a cancellation: `{ eventName, jobId }`. */
export const CANCEL_EVENT = 'reactor-threads:cancel';

/** The name of the queue that carries `queueName`'s control events. */
export function controlQueueName(queueName: string): string {
  return `${queueName}.reactor-threads-control`;
}
