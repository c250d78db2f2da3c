// deferToThreadPool on a BullMQThreadPool: calls run on worker processes
// (at another path, as on another machine), and values and errors come
// back as they do from a local pool. A real redis-server; two workers.
import anyTest from 'ava';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import {
  deferToThreadPool, fromModule, FunctionNotSendableError, ModuleNotAllowedError, PayloadTooLargeError, reactor,
  ValueNotCloneableError,
} from 'reactor-threads';
import { Queue } from 'bullmq';
import { BullMQThreadPool } from 'reactor-threads/bullmq';
import { startRedis, withRedis, type RedisServer } from './_helpers/redis.js';
import { callerRoot, startWorker, type WorkerProcess } from './_helpers/bullmq-workers.js';
import { add, bigThrow, echo, movePoint, Point, refuse, Refused, text, where, whereAfter } from './_fixtures/bullmq/tasks.cjs';

const test = withRedis(anyTest);
const queueName = `calls-${randomUUID()}`;
let redis: RedisServer;
let workers: WorkerProcess[];
let pool: BullMQThreadPool;

test.before(async () => {
  redis = await startRedis();
  const allow = ['./tasks.cjs', 'node:zlib'];
  workers = await Promise.all([1, 2].map(() => startWorker(redis, { queueName, allow, threads: 2, maxPayloadBytes: 64 * 1024 })));
  pool = new BullMQThreadPool({ queueName, connection: redis.connection, root: callerRoot, maxPayloadBytes: 64 * 1024 });
  pool.start();
});

test.after.always(async () => {
  await pool?.stop();
  await Promise.all(workers?.map((w) => w.stop()) ?? []);
  await redis?.stop();
});

test('a threadable function runs on a worker process and its result comes back', async (t) => {
  t.is(await deferToThreadPool(reactor, pool, add, 2, 3), 5);
  const at = await deferToThreadPool(reactor, pool, where);
  t.true(workers.some((w) => w.pid === at.pid), 'it ran in a worker process');
  t.not(at.thread, 0, 'in a pool thread, not on the main thread');
});

test('calls spread over both worker processes', async (t) => {
  // Each job holds its worker 25 ms: a worker takes 2 at a time, so one
  // alone would need half a second for the 40 (instant jobs were once all
  // taken by one worker before the other fetched any).
  const pids = new Set((await Promise.all(Array.from({ length: 40 }, () => deferToThreadPool(reactor, pool, whereAfter, 25)))).map((w) => w.pid));
  t.deepEqual([...pids].sort(), workers.map((w) => w.pid).sort());
});

test('values cross as between threads: Dates, Maps, Sets, BigInt, typed arrays, nested objects', async (t) => {
  const value = {
    when: new Date(1_700_000_000_000), tags: new Set(['a', 'b']), ids: new Map<unknown, unknown>([[1n, 'big'], ['k', [1, 2]]]),
    bytes: new Uint8Array([1, 2, 255]), f64: new Float64Array([0.5, -0]), nested: { deep: [null, undefined, NaN, 'é𝄞'] },
  };
  t.deepEqual(await deferToThreadPool(reactor, pool, echo, value), value);
});

test('values JSON would change cross exactly: -0, NaN, undefined, holes, shared objects, an undefined result', async (t) => {
  const shared = { n: 1 };
  const value: unknown[] = [-0, NaN, undefined, { a: shared, b: shared }, Object.assign([1], { tag: 't' })];
  const back = await deferToThreadPool(reactor, pool, echo, value) as unknown[];
  t.deepEqual(back, value);
  t.true(Object.is(back[0], -0));
  const pair = back[3] as { a: object; b: object };
  t.is(pair.a, pair.b, 'one object, still shared');
  // (Alone: with a NaN beside it, the walk marks the value, and a revived array loses its holes, between threads too.)
  const holes = await deferToThreadPool(reactor, pool, echo, [1, , 3]) as unknown[];  // eslint-disable-line no-sparse-arrays
  t.false(1 in holes, 'the hole is still a hole');
  t.is(await deferToThreadPool(reactor, pool, echo, undefined), undefined);
});

test('a call whose values JSON carries exactly stores them as JSON text, in its job and in its result', async (t) => {
  const queue = new Queue(queueName, { connection: redis.connection });
  try {
    const value = { n: 123_456, tags: ['a', 'é'] };
    t.deepEqual(await deferToThreadPool(reactor, pool, echo, value), value);
    const job = (await queue.getCompleted(0, 2000)).find((j) => j.data.j === JSON.stringify([value]));
    t.truthy(job, 'its job holds the arguments as JSON text');
    t.is(job!.name, 'echo', 'the job is named for its function');
    t.deepEqual(Object.keys(job!.data).sort(), ['f', 'j', 'v'], 'and no V8 payload, label or Node version');
    t.deepEqual(job!.returnvalue, { v: 2, j: JSON.stringify(value) });
  } finally {
    await queue.close();
  }
});

test('instances of a registered class cross both ways as that class', async (t) => {
  const moved = await deferToThreadPool(reactor, pool, movePoint, new Point(3, 4), 1);
  t.true(moved instanceof Point);
  t.is(moved.x, 4);
  t.is(moved.norm(), 5.656854249492381);
});

test('an error keeps its class, message, code, own properties and cause, and its stack names the worker', async (t) => {
  const err = await t.throwsAsync(deferToThreadPool(reactor, pool, refuse, 'no funds'), { instanceOf: Refused });
  t.is(err!.message, 'no funds');
  t.is(err!.code, 'E_REFUSED');
  t.deepEqual(err!.detail, { field: 'amount' });
  t.true(err!.cause instanceof TypeError);
  t.is((err!.cause as Error).message, 'the inner reason');
  t.regex(err!.stack!, /at refuse/);
  t.regex(err!.stack!, /--- refuse\(\) in thread \d+ of worker .* pid \d+ ---/);
  // The user's frames, then the boundary: none of the job runner's beneath them.
  t.regex(err!.stack!, /at refuse [^\n]*\n {4}--- refuse\(\) in thread/, err!.stack);
});

test('fromModule reaches an export of an allowed module and an allowed built-in', async (t) => {
  const plain = fromModule<(x: number) => string>('./_fixtures/bullmq/tasks.cjs', 'plainExport');
  t.is(await deferToThreadPool(reactor, pool, plain, 7), 'plain:7');
  const out = await deferToThreadPool(reactor, pool, zlib.deflateSync, Buffer.from('hello hello'));
  t.is(zlib.inflateSync(out).toString(), 'hello hello');
});

test('a name found only on an allowed module\'s default export\'s prototype chain is no export: refused, never called', async (t) => {
  // (fromModule('node:zlib', 'constructor') ran Object() on the worker; hasOwnProperty and the like were callable too.)
  for (const name of ['constructor', 'hasOwnProperty', '__defineGetter__']) {
    const err = await t.throwsAsync(deferToThreadPool(reactor, pool, fromModule('node:zlib', name)), { instanceOf: FunctionNotSendableError }, name);
    t.regex(err!.message, new RegExp(`${name} is not an exported function`), name);
  }
  t.is(await deferToThreadPool(reactor, pool, add, 1, 1), 2);
});

test('a module the workers do not allow is refused there with a ModuleNotAllowedError, and never loaded', async (t) => {
  const exec = fromModule('node:child_process', 'execSync');
  const err = await t.throwsAsync(deferToThreadPool(reactor, pool, exec, 'echo pwned'), { instanceOf: ModuleNotAllowedError });
  t.is(err!.module, 'node:child_process');
  t.regex(err!.message, /does not allow node:child_process/);
});

test('a plain function is refused before anything is sent: a queue never carries source text', async (t) => {
  const err = await t.throwsAsync(deferToThreadPool(reactor, pool, (x: number) => x + 1, 1), { instanceOf: FunctionNotSendableError });
  t.regex(err!.message, /cannot be sent to a remote pool/);
});

test('a function among the arguments is refused with its path', async (t) => {
  const err = await t.throwsAsync(deferToThreadPool(reactor, pool, echo, { onDone: () => 1 }), { instanceOf: ValueNotCloneableError });
  t.is(err!.path, 'args[0].onDone');
  t.regex(err!.message, /cannot cross to another machine/);
});

test('arguments and results over maxPayloadBytes are refused with a PayloadTooLargeError, and the pool keeps serving', async (t) => {
  const big = await t.throwsAsync(deferToThreadPool(reactor, pool, echo, 'y'.repeat(100_000)), { instanceOf: PayloadTooLargeError });
  t.is(big!.limit, 64 * 1024);
  const result = await t.throwsAsync(deferToThreadPool(reactor, pool, text, 100_000), { instanceOf: PayloadTooLargeError });
  t.regex(result!.message, /the result/);
  t.is(await deferToThreadPool(reactor, pool, add, 1, 1), 2);
});

test.serial('many concurrent calls each settle once with their own result', async (t) => {
  const n = 500;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => deferToThreadPool(reactor, pool, add, i, 1000)));
  t.deepEqual(results, Array.from({ length: n }, (_, i) => i + 1000));
  t.is(pool.stats().pending, 0);
});

test('a caller that awaited its calls and stopped its pool exits by itself, at once: stop() leaves no timer behind', async (t) => {
  const script = join(__dirname, '_fixtures', 'bullmq', 'caller-exits.cjs');
  const child = spawn(process.execPath, [script, JSON.stringify({ queueName, connection: redis.connection, root: callerRoot })],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  t.is(code, 0, out);
  // (ioredis's disconnect() of a client BullMQ had closed already left a 2 s timer: the process exited 2 s late.)
  t.is(out.trim(), '42\ntimers 0');
});

test('a failure over maxPayloadBytes comes back as a PayloadTooLargeError, as a result would: Redis keeps no large failures', async (t) => {
  // (Without the limit, each 1 MB error stored about 6 MB in Redis: the job's failedReason and its event's.)
  const err = await t.throwsAsync(deferToThreadPool(reactor, pool, bigThrow, 200_000), { instanceOf: PayloadTooLargeError });
  t.regex(err!.message, /^the failure \(Error: x{10}/);
  t.true(err!.message.length < 2000, `message of ${err!.message.length} characters`);
  t.is(await deferToThreadPool(reactor, pool, add, 1, 1), 2, 'the workers keep serving');
});
