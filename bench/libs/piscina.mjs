// piscina 5: default configuration except a fixed size and no idle shutdown.
import { Piscina } from 'piscina';
import { warmup } from './_warmup.mjs';

export const transfers = true;

export default async function create({ threads, warm = true }) {
  const pool = new Piscina({
    filename: new URL('./_piscina-worker.mjs', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 2 ** 31 - 1,
  });
  if (warm) await warmup(threads, () => pool.run([2000], { name: 'warm' }));
  return {
    add: (a, b) => pool.run([a, b], { name: 'add' }),
    record: (r) => pool.run([r], { name: 'record' }),
    cpu: (n) => pool.run([n], { name: 'cpu' }),
    echo: (buf) => pool.run(buf, { name: 'echo', transferList: [buf] }),
    close: () => pool.close(),
  };
}
