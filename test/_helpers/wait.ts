// Polls a condition instead of sleeping a fixed time: the machines are
// shared and a thread may take a while to start.
export async function waitFor(cond: () => boolean, ms = platformTimeout(5000)): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/**
 * A time limit for this platform: `ms`, or 4x that under AddressSanitizer
 * (npm run test:asan preloads libasan) or under wine (scripts/win32.sh
 * sets REACTOR_THREADS_TEST_SLOW=wine), where threads start and exit
 * several times slower. As Node's own tests' common.platformTimeout.
 * For limits that tell "it ended" from "it hung", never for speed.
 */
export function platformTimeout(ms: number): number {
  const slow = (process.env.LD_PRELOAD ?? '').includes('libasan') || process.env.REACTOR_THREADS_TEST_SLOW !== undefined;
  return slow ? 4 * ms : ms;
}

/**
 * Polls a condition that may need I/O (a queue's counts) every 20 ms;
 * throws naming `what` if it does not hold within `ms` (by default 10 s,
 * scaled by platformTimeout: under AddressSanitizer a child process that
 * loads bullmq takes over 10 s to start).
 */
export async function eventually(cond: () => boolean | Promise<boolean>, what: string, ms = platformTimeout(10_000)): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Whether a task raised flag[1] (it started; tasks like waitForFlag do),
 * within 15 s scaled by platformTimeout, the time a fresh pool's thread
 * may take to start on a loaded machine. A flag stays raised, where a poll
 * of stats().busy can miss a short task.
 */
export async function taskStarted(flag: Int32Array): Promise<boolean> {
  return await waitFor(() => Atomics.load(flag, 1) === 1, platformTimeout(15_000));
}
