// The caller of the scale-out example: a dozen calls on the workers that
// serve the 'primes' queue on REDIS_URL (run.mjs starts them), one line
// printed per call as it settles. It stops its pool and exits by itself.
import { deferToThreadPool, reactor } from 'reactor-threads';
import { BullMQThreadPool } from 'reactor-threads/bullmq';
import { primesBelow } from './tasks.mjs';

const pool = new BullMQThreadPool({
  queueName: 'primes',
  connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  root: import.meta.dirname, // primesBelow travels as app:tasks.mjs, its path under this folder
});
pool.start();
const defer = deferToThreadPool.with({ attempts: 2, runTimeout: 30_000 }); // a run that throws is tried again
const sizes = Array.from({ length: 12 }, (_, i) => (i + 1) * 100_000);
try {
  await Promise.all(sizes.map(async (n) => {
    const { count, ran } = await defer(reactor, pool, primesBelow, n);
    console.log(`primesBelow(${n}) = ${count}: ran in worker pid ${ran.pid}, thread ${ran.thread} on ${ran.host}`);
  }));
} finally {
  await pool.stop(); // closes its connections, so the process exits by itself
}
