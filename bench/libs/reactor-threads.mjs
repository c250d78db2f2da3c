// reactor-threads: a ThreadPool of `threads` threads; tasks are threadables.
import { deferToThreadPool, reactor, ThreadPool, transfer } from 'reactor-threads';
import { add, cpu, echo, record } from './_rt-tasks.mjs';

export const transfers = true;

export default async function create({ threads, warm = true }) {
  const pool = new ThreadPool({ minThreads: threads, maxThreads: threads, idleTimeout: Infinity, name: 'bench' });
  pool.start();
  if (warm) await Promise.all(Array.from({ length: threads * 4 }, () => deferToThreadPool(reactor, pool, cpu, 2_000)));
  return {
    add: (a, b) => deferToThreadPool(reactor, pool, add, a, b),
    record: (r) => deferToThreadPool(reactor, pool, record, r),
    cpu: (n) => deferToThreadPool(reactor, pool, cpu, n),
    echo: (buf) => deferToThreadPool(reactor, pool, echo, transfer(buf)),
    close: () => pool.stop(),
  };
}
