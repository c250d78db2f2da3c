// A caller process for test/bullmq-pool.ts: pools with one call pending
// each, then Redis dies (the test kills it and sends SIGUSR2), then each
// pool stops, at a different moment of its clients' reconnecting. The
// process must exit by itself afterwards: no client may keep
// reconnecting to the dead server.
import { deferToThreadPool, reactor } from 'reactor-threads';
import { BullMQThreadPool, type BullMQThreadPoolOptions } from 'reactor-threads/bullmq';
import { add } from './tasks.cjs';

const STOP_DELAYS_MS = [0, 400, 1100, 2500];

const options = JSON.parse(process.argv[2]!) as BullMQThreadPoolOptions;
const pools = STOP_DELAYS_MS.map((_, i) => new BullMQThreadPool({ ...options, queueName: `${options.queueName}-${i}` }));
const outcomes = pools.map((pool) => {
  pool.on('error', () => {});
  pool.start();
  return deferToThreadPool(reactor, pool, add, 1, 2).then(
    () => 'fulfilled',
    (e: unknown) => (e instanceof Error ? e.name : String(e)));
});
const poll = setInterval(() => {
  if (pools.some((pool) => pool.stats().pending !== 1)) return;
  clearInterval(poll);
  process.stdout.write('pending\n');
}, 20);
process.once('SIGUSR2', () => {
  void Promise.all(pools.map(async (pool, i) => {
    await new Promise((r) => setTimeout(r, STOP_DELAYS_MS[i]));
    const started = Date.now();
    await pool.stop();
    return `stopped in ${Date.now() - started} ms: ${await outcomes[i]}`;
  })).then((lines) => process.stdout.write(`${lines.join('\n')}\n`));
});
