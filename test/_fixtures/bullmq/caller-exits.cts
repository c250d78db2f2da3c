// A caller process for test/bullmq-calls.ts: one remote call, then
// stop(); the process must then exit by itself (no open handle left), and
// it says what it still holds right after stop().
import { deferToThreadPool, reactor } from 'reactor-threads';
import { BullMQThreadPool, type BullMQThreadPoolOptions } from 'reactor-threads/bullmq';
import { add } from './tasks.cjs';

const pool = new BullMQThreadPool(JSON.parse(process.argv[2]!) as BullMQThreadPoolOptions);
pool.start();
deferToThreadPool(reactor, pool, add, 40, 2).then(async (sum) => {
  await pool.stop();
  process.stdout.write(`${sum}\n`);
  // The timers that keep the process alive once stop() resolved: none should (one left behind delays
  // its exit by its length). Its sockets may still be closing.
  setImmediate(() => {
    const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout');
    process.stdout.write(`timers ${timers.length}\n`);
  });
}, (e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exitCode = 1;
});
