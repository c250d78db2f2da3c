// Functions the quick start runs in threads. A thread imports this module
// to find them, so its imports and module scope work there too.
import { createHash } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { threadable } from 'reactor-threads';

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
