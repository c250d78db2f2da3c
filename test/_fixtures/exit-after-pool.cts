// Child process: a started pool with min threads, used and never stopped.
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';

const pool = new ThreadPool({ minThreads: 2, maxThreads: 2 });
pool.start();
Promise.all(Array.from({ length: 10 }, (_, i) => deferToThreadPool(reactor, pool, (x: number) => x, i)))
  .then((r) => console.log(`done ${r.length}`), (e: unknown) => { console.error(e); process.exitCode = 1; });
