// A pool in a user's Worker (not a pool thread): the Worker runs `count`
// tasks that print 4 KiB and a line on stdout (printWide) on a pool of
// `threads` threads and posts each result to the main thread, which
// writes `settled <i>` to stdout (test/console-order.ts). The Worker's
// output and its messages travel by separate ports, which Node does not
// order: what keeps a result behind its output is that the pool counts
// output once Node's pipe wrote it into the Worker's stdout, which holds
// at most 16 KiB unposted. Args: count, threads.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { printWide } from './console-order-tasks.cjs';

if (isMainThread) {
  const [count = '200', threads = '2'] = process.argv.slice(2);
  const worker = new Worker(new URL(import.meta.url), { workerData: { count: Number(count), threads: Number(threads) } });
  worker.on('message', (v: number) => { process.stdout.write(`settled ${v}\n`); });
} else {
  const { count, threads } = workerData as { count: number; threads: number };
  const pool = new ThreadPool({ minThreads: threads, maxThreads: threads });
  pool.start();
  await Promise.all(Array.from({ length: count }, (_, i) =>
    deferToThreadPool(reactor, pool, printWide, 'stdout', i).then((v) => parentPort!.postMessage(v))));
  await pool.stop();
}
