// Shutting down BullMQ's Redis connections so that nothing is left
// running when Redis is gone: each step bounded, then every client ended
// for good, but a client the application passed in. Used by BullMQThreadPool.stop() and serveBullMQ's close().
// Caller's thread only.
import type { Queue, QueueEvents, QueueEventsProducer, Worker } from 'bullmq';

/** How long a shutdown waits for each step of its cleanup while Redis does not answer. */
const STOP_STEP_MS = 2000;

/** How often boundedUntil() looks. */
const POLL_MS = 20;

/**
 * Whether `done()` became true within `ms` (by default STOP_STEP_MS),
 * looked at every POLL_MS. The looking ends with the bound: a condition
 * that never comes true (an outcome BullMQ could not write) left a timer
 * polling for ever, and the worker's process alive after its close()
 * (found by helper-98's chaos run).
 */
export async function boundedUntil(done: () => boolean, ms = STOP_STEP_MS): Promise<boolean> {
  // (A monotonic clock: the wall clock set back would stretch the bound.)
  const until = performance.now() + ms;
  while (!done()) {
    if (performance.now() >= until) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}

/** Whether `work` ended (fulfilled or not) within STOP_STEP_MS. */
export async function bounded(work: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), STOP_STEP_MS); });
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Ends a part's Redis clients for good, whatever close() did. With the
 * server gone, a client that BullMQ 6.7's close() (or, past its bound,
 * its disconnect()) was done with could still hold ioredis's reconnect
 * timer: in the suite under load, the Queue's and the QueueEvents' main
 * clients went on reconnecting for minutes and kept the process alive.
 * ioredis's own disconnect() drops that timer; on a client closed cleanly
 * it does nothing. The client is read from the connection's `_client`
 * field, set when it is built: its public `client` promise settles only
 * once the connection was ready, and one that never got ready (its
 * version check unanswered when the server died, under ASan) kept
 * reconnecting too. The promise is the fallback, bounded.
 */
export async function endClients(part: Queue | QueueEvents | QueueEventsProducer | Worker): Promise<void> {
  const { connection, blockingConnection } = part.getBackend();
  await Promise.all([connection, blockingConnection].map(async (c) => {
    // (Nor a client the application passed as `connection`: it is the
    // application's, and BullMQ's close() leaves it open, as its other users
    // need it; ending it broke them, helper-160. Its blocking duplicate is ours.)
    if (!c || (c as unknown as { extraOptions?: { shared?: boolean } }).extraOptions?.shared) return;
    let client = (c as unknown as { _client?: Disconnectable })._client;
    if (typeof client?.disconnect !== 'function') {
      client = undefined;
      await bounded(c.client.then((ready) => { client = ready; }));
    }
    // (Not one that has ended already, as BullMQ's close() leaves a client
    // it closed cleanly: its disconnect() would end the socket again and
    // wait up to ioredis's disconnectTimeout, 2 s, for a 'close' that came
    // before, keeping the process alive that long after stop().)
    if (client && client.status !== 'end') client.disconnect();
  }));
}

interface Disconnectable { status?: string; disconnect(): void }

/**
 * Whether `e` is Redis refusing the connection's credentials (a wrong
 * password or user): no reconnect or retry can change it, where an
 * unreachable server may come back. ioredis retries both in silence.
 */
export function refusedCredentials(e: unknown): boolean {
  const message = e instanceof Error ? e.message : String(e);
  return /^(WRONGPASS|NOAUTH)\b|invalid (username-)?password/i.test(message);
}
