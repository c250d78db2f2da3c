// The messages of the tracing channels (src/base/tracing.ts), in
// ECMAScript types alone (see src/index.ts).

/** What a serialisable trace context is carried as: names to strings. */
export type TraceCarrier = Record<string, string>;

/** The message of the `reactor-threads.task` channel (caller's side). */
export interface TaskTraceMessage {
  /** The task's id (pool.stats() and currentTask() name it too); 0 if the call was refused before it was queued. */
  taskId: number;
  /** The function's label: its name, or `specifier#export` for a module reference. */
  readonly function: string;
  /** The pool's name. */
  readonly pool: string;
  readonly args: readonly unknown[];
  /** Set by a `start` subscriber: sent with the task to its thread. */
  carrier?: TraceCarrier;
  /** The task's value, once it fulfilled. */
  result?: unknown;
  /** Why it failed, once it did. */
  error?: unknown;
}

/** The message of the `reactor-threads.task.run` channel (the pool thread's side). */
export interface TaskRunTraceMessage {
  readonly taskId: number;
  readonly function: string;
  readonly args: readonly unknown[];
  /** What the caller's `start` subscriber set, if anything. */
  readonly carrier: TraceCarrier | undefined;
  result?: unknown;
  error?: unknown;
}
