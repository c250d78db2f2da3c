// Type tests of the ES module entry (dist/index.d.mts), compiled by `npm
// test`: its classes are types as well as values, as in the CommonJS entry.
import { PoolStoppedError, ReactorThreadsError, ThreadPool, type ThreadPoolOptions } from 'reactor-threads';

const options: ThreadPoolOptions = { maxThreads: 1 };
export const pool: ThreadPool = new ThreadPool(options);
export const stopped: ReactorThreadsError = new PoolStoppedError();
export function codeOf(e: unknown): string | undefined {
  return e instanceof PoolStoppedError ? e.code : undefined;
}
export class AppError extends ReactorThreadsError {}
// @ts-expect-error a pool is not an error
export const notAnError: ReactorThreadsError = pool;
