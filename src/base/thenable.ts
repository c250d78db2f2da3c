// Whether a value is a thenable, which a task, a blocking call or a
// callable may return instead of a value: it is awaited, not sent.
// Runs on every thread.
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null
    && typeof (v as { then?: unknown }).then === 'function';
}
