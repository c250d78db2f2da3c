// poolifier 5: FixedThreadPool(threads, workerFile), default options.
import { fileURLToPath } from 'node:url';
import { FixedThreadPool } from 'poolifier';
import { warmup } from './_warmup.mjs';

// The argument is transferred (execute's transferList), but poolifier 5's
// ThreadWorker sends responses with postMessage(message) and no transferList,
// so the buffer is copied on the way back: not a transfer both ways.
export const transfers = false;

export default async function create({ threads, warm = true }) {
  const pool = new FixedThreadPool(threads, fileURLToPath(new URL('./_poolifier-worker.mjs', import.meta.url)));
  if (warm) await warmup(threads, () => pool.execute([2000], 'warm'));
  return {
    add: (a, b) => pool.execute([a, b], 'add'),
    record: (r) => pool.execute([r], 'record'),
    cpu: (n) => pool.execute([n], 'cpu'),
    // poolifier 5 signature: execute(data, name, abortSignal, transferList)
    echo: (buf) => pool.execute(buf, 'echo', undefined, [buf]),
    close: () => pool.destroy(),
  };
}
