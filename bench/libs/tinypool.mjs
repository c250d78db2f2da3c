// tinypool 2: fixed size (minThreads = maxThreads), otherwise defaults.
import { Tinypool } from 'tinypool';
import { warmup } from './_warmup.mjs';

export const transfers = true;

export default async function create({ threads, warm = true }) {
  const pool = new Tinypool({
    filename: new URL('./_tinypool-worker.mjs', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
  });
  if (warm) await warmup(threads, () => pool.run([2000], { name: 'warm' }));
  return {
    add: (a, b) => pool.run([a, b], { name: 'add' }),
    record: (r) => pool.run([r], { name: 'record' }),
    cpu: (n) => pool.run([n], { name: 'cpu' }),
    echo: (buf) => pool.run(buf, { name: 'echo', transferList: [buf] }),
    close: () => pool.destroy(),
  };
}
