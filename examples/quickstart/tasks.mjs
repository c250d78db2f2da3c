// Functions the quick start runs in threads. A thread imports this module
// to find them, so its imports and module scope work there too.
import { createHash } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { blockingCallFromThread, reactor, threadable } from 'reactor-threads';

/** CPU-heavy work: hash `data` `rounds` times. */
export const hashRounds = threadable(function hashRounds(data, rounds) {
  let digest = data;
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest('hex');
  return { digest: digest.slice(0, 16), threadId };
});

export class QuotaError extends Error {
  constructor(message, limit) {
    super(message);
    this.name = 'QuotaError';
    this.limit = limit;
  }
}
threadable(QuotaError);

export const checkQuota = threadable(function checkQuota(used, limit) {
  if (used > limit) throw new QuotaError(`used ${used} of ${limit}`, limit);
  return limit - used;
});

export const logLine = threadable(function logLine(label) {
  console.log(`  [thread ${threadId}] ${label}`);
});

/** Runs on the main thread when a thread asks: the reactor owns this state. */
const prices = new Map([['apple', 3], ['pear', 4]]);
export const priceOf = threadable(async function priceOf(item) {
  await new Promise((r) => setTimeout(r, 1));  // e.g. a lookup in the main thread's cache or DB pool
  return prices.get(item) ?? 0;
});

/** In a thread: totals a basket, asking the main thread for each price. */
export const totalBasket = threadable(function totalBasket(items) {
  let total = 0;
  for (const item of items) total += blockingCallFromThread(reactor, priceOf, item);
  return total;
});

/** In a thread: reports progress through a reactor callable (a closure on the main thread). */
export const countTo = threadable(function countTo(n, onProgress) {
  for (let i = 1; i <= n; i++) onProgress(i);  // each call runs on the main thread
  return n;
});
