// Child process, started by test/preloads.ts with preload-registers as a
// --require or --import preload: runs the preload's functions on a pool
// and on deferToThread's, and plain ones, and prints what they gave.
import { deferToThread, deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { askOwner, tripled } from './preload-registers.cjs';

async function main(): Promise<void> {
  const pool = new ThreadPool({ maxThreads: 2 });
  pool.start();
  const seen = {
    tripled: await deferToThread(tripled, 2),
    plain: await deferToThreadPool(reactor, pool, (x: number) => x + 1, 1),
    askOwner: await deferToThreadPool(reactor, pool, askOwner),
    both: await Promise.all([1, 2, 3, 4].map((x) => deferToThreadPool(reactor, pool, tripled, x))),
  };
  await pool.stop();
  console.log(JSON.stringify(seen));
}
void main();
