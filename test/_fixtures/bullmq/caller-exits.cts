// A caller process for test/bullmq-calls.ts: one remote call, then
// stop(); the process must then exit by itself (no open handle left).
import { deferToThreadPool, reactor } from 'reactor-threads';
import { BullMQThreadPool, type BullMQThreadPoolOptions } from 'reactor-threads/bullmq';
import { add } from './tasks.cjs';

const pool = new BullMQThreadPool(JSON.parse(process.argv[2]!) as BullMQThreadPoolOptions);
pool.start();
deferToThreadPool(reactor, pool, add, 40, 2).then(async (sum) => {
  await pool.stop();
  process.stdout.write(`${sum}\n`);
}, (e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exitCode = 1;
});
