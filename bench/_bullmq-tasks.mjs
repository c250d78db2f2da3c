// The job bodies of bench/bullmq.mjs, as plain functions: the plain and
// sandboxed BullMQ workers call them directly; _bullmq-rt-tasks.mjs marks
// the same bodies threadable for the reactor-threads adapter.
import { createHash } from 'node:crypto';

export { add } from './libs/_tasks.mjs';

/** `rounds` chained sha256 digests of 64 bytes: CPU work with a checkable result (its hex digest). */
export function spin(rounds) {
  let digest = Buffer.alloc(32);
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).update(digest).digest();
  return digest.toString('hex');
}
