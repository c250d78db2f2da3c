// A module that takes 300 ms to load (top-level await): a task naming it
// waits that long for its function in a fresh thread.
await new Promise((r) => setTimeout(r, 300));

export function doubled(x: number): number {
  return 2 * x;
}
