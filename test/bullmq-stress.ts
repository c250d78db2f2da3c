// Nothing lost under load: thousands of remote calls (quick ones, slow
// ones, failing ones, cancelled ones) while a worker is killed and another
// joins. Each call's onResult runs exactly once (counted through
// callInThreadWithOptions, where a Promise would hide a second settle),
// with the outcome its inputs call for. A real redis-server.
import anyTest from 'ava';
import { randomUUID } from 'node:crypto';
import { CancelledError } from 'reactor-threads';
import { BullMQThreadPool } from 'reactor-threads/bullmq';
import { startRedis, withRedis, type RedisServer } from './_helpers/redis.js';
import { callerRoot, startWorker, type WorkerProcess } from './_helpers/bullmq-workers.js';
import { eventually } from './_helpers/wait.js';
import { add, nap, refuse, Refused } from './_fixtures/bullmq/tasks.cjs';

const test = withRedis(anyTest);
let redis: RedisServer;
const workers: WorkerProcess[] = [];
test.before(async () => { redis = await startRedis(); });
test.after.always(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await redis?.stop();
});

test('3,000 mixed calls settle exactly once each while a worker dies and another joins', async (t) => {
  const queueName = `stress-${randomUUID()}`;
  const options = { queueName, allow: ['./tasks.cjs'], threads: 2, concurrency: 8, lockDuration: 1500, stalledInterval: 500 };
  workers.push(await startWorker(redis, options), await startWorker(redis, options));
  const pool = new BullMQThreadPool({ queueName, connection: redis.connection, root: callerRoot, checkInterval: 500 });
  pool.start();
  t.teardown(() => pool.stop());

  const n = 3000;
  const settled = new Array<number>(n).fill(0);
  const wrong: string[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 10;
    const controller = kind === 9 ? new AbortController() : undefined;
    const expect = (ok: boolean, value: unknown): boolean => {
      if (kind === 9) return !ok && value instanceof CancelledError;
      if (kind === 8) return !ok && value instanceof Refused && value.message === `no ${i}`;
      if (kind >= 6) return ok && typeof value === 'number';
      return ok && value === i + 1;
    };
    const onResult = (ok: boolean, value: unknown): void => {
      settled[i]!++;
      if (!expect(ok, value)) wrong.push(`call ${i}: ${ok ? 'ok' : 'failed'} ${String(value)}`);
    };
    if (kind === 9) pool.callInThreadWithOptions({ signal: controller!.signal }, onResult, nap, 30);
    else if (kind === 8) pool.callInThreadWithOptions({}, onResult, refuse, `no ${i}`);
    else if (kind >= 6) pool.callInThreadWithOptions({}, onResult, nap, 5 + (i % 7));
    else pool.callInThreadWithOptions({ attempts: 2 }, onResult, add, i, 1);
    if (controller) setTimeout(() => controller.abort(), i % 3 === 0 ? 0 : 20);
    if (i === n / 3) {
      // A third of the way in: one worker dies holding jobs, and another joins.
      await eventually(() => settled.filter((c) => c > 0).length > n / 6, 'a sixth settled');
      await workers[0]!.kill();
      workers.push(await startWorker(redis, options));
    }
  }
  await eventually(() => settled.every((c) => c > 0), `every call settled (${settled.filter((c) => c === 0).length} pending)`, 120_000);
  // A late second settlement would show here.
  await new Promise((r) => setTimeout(r, 1000));
  t.deepEqual(settled.map((c, i) => [i, c]).filter(([, c]) => c !== 1), [], 'each call settled once');
  t.deepEqual(wrong, []);
  t.is(pool.stats().pending, 0);
});
