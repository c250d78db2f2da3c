// reactor-threads/bullmq: deferToThreadPool past one machine, on BullMQ.
// Callers make a BullMQThreadPool; worker processes call serveBullMQ (or
// run the reactor-threads-worker bin). bullmq is an optional peer
// dependency, loaded only by this entry. Tests: test/bullmq-*.ts.
import { assertNotBundled } from '../runtime/not-bundled-cjs.js';
// First, as the core's entry does: a bundle that inlines this entry would
// fail later in ways that never name the bundle (test/bundlers.ts).
assertNotBundled();
export { BullMQThreadPool } from './pool.js';
export type { BullMQPoolStats, BullMQThreadPoolOptions, RemoteCallOptions } from './pool.js';
export { serveBullMQ } from './serve.js';
export type { BullMQServer, ServeBullMQOptions } from './serve.js';
export { notRetryable } from './retries.js';
export {
  JobLostError, ModuleNotAllowedError, PayloadTooLargeError, UnreadablePayloadError,
} from '../errors/errors.js';
