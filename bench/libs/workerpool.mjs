// workerpool 10: dedicated worker script, fixed size, worker_threads.
import { fileURLToPath } from 'node:url';
import workerpool from 'workerpool';
import { warmup } from './_warmup.mjs';

export const transfers = true;

export default async function create({ threads, warm = true }) {
  const pool = workerpool.pool(fileURLToPath(new URL('./_workerpool-worker.mjs', import.meta.url)), {
    minWorkers: threads,
    maxWorkers: threads,
    workerType: 'thread',
  });
  if (warm) await warmup(threads, () => pool.exec('warm', [2000]));
  return {
    add: (a, b) => pool.exec('add', [a, b]),
    record: (r) => pool.exec('record', [r]),
    cpu: (n) => pool.exec('cpu', [n]),
    echo: (buf) => pool.exec('echo', [buf], { transfer: [buf] }),
    close: () => pool.terminate(),
  };
}
