// A pool in a user's Worker whose parent waits in Atomics.wait, as
// synckit's callers do, and so never reads the Worker's output: the Worker
// runs a task printing `kb` KiB on its pool, then one printing two lines
// (the second held behind the first's post, which nobody answers), then
// wakes the parent, which writes to stderr whether it was woken and after
// how long (it waits 40 s at most). Each result waits for its output until the outbox's last
// resort; the second waited for good, the output still buffered.
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { printKiB, printTwoAndErr } from './console-order-tasks.cjs';

if (isMainThread) {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL(import.meta.url), { workerData: { kb: Number(process.argv[2] ?? '100'), cell } });
  const started = performance.now();
  const woken = Atomics.wait(cell, 0, 0, 40_000);
  process.stderr.write(`parent: ${woken} after ${Math.round(performance.now() - started)} ms\n`);
  worker.unref();
} else {
  const { kb, cell } = workerData as { kb: number; cell: Int32Array };
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
  pool.start();
  await deferToThreadPool(reactor, pool, printKiB, kb);
  await deferToThreadPool(reactor, pool, printTwoAndErr, 1);
  Atomics.store(cell, 0, 1);
  Atomics.notify(cell, 0);
  await pool.stop();
}
