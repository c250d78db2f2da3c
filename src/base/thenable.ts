// Whether a value is a thenable, which a task, a blocking call or a
// callable may return instead of a value: it is awaited, not sent.
// Runs on every thread.
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  if ((typeof v !== 'object' && typeof v !== 'function') || v === null) return false;
  try {
    return typeof (v as { then?: unknown }).then === 'function';
  } catch {
    // Its `then` cannot be read (a revoked Proxy: an immer draft after
    // produce(); a getter that throws): not awaited, and sending it says
    // what is wrong with it. Thrown here, a task's result ended its
    // thread (helper-110's review).
    return false;
  }
}
