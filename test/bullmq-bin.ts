// The reactor-threads-worker bin: serveBullMQ from the command line. It
// serves a queue, refuses bad arguments with its usage, and on SIGTERM
// lets its active job finish and exits by itself. A real redis-server.
import anyTest from 'ava';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { deferToThreadPool, reactor } from 'reactor-threads';
import { BullMQThreadPool } from 'reactor-threads/bullmq';
import { startRedis, withRedis, type RedisServer } from './_helpers/redis.js';
import { callerRoot, workerRoot } from './_helpers/bullmq-workers.js';
import { Queue } from 'bullmq';
import { eventually } from './_helpers/wait.js';
import { nap, where } from './_fixtures/bullmq/tasks.cjs';

const test = withRedis(anyTest);
const bin = join(__dirname, '..', 'dist', 'bullmq', 'bin.js');
let redis: RedisServer;
test.before(async () => { redis = await startRedis(); });
test.after.always(async () => { await redis?.stop(); });

function run(args: string[]): { output: () => string; exited: Promise<number | null>; kill: (s: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { clearTimeout(timer); resolve(code); }));
  return { output: () => out, exited, kill: (s) => child.kill(s) };
}

test('the bin serves a queue, and on SIGTERM finishes its active job and exits by itself', async (t) => {
  const queueName = `bin-${randomUUID()}`;
  const worker = run(['--queue', queueName, '--allow', './tasks.cjs', '--redis', redis.url, '--root', workerRoot(), '--threads', '1']);
  await eventually(() => worker.output().includes('serving'), 'the bin serves');
  const pool = new BullMQThreadPool({ queueName, connection: redis.connection, root: callerRoot });
  pool.start();
  t.teardown(() => pool.stop());
  const at = await deferToThreadPool(reactor, pool, where);
  const running = deferToThreadPool(reactor, pool, nap, 2000);
  const queue = new Queue(queueName, { connection: redis.connection });
  t.teardown(() => queue.close());
  await eventually(async () => (await queue.getActiveCount()) === 1, 'the bin holds the job');
  worker.kill('SIGTERM');
  t.is(await running, at.pid, 'the active job finished');
  t.is(await worker.exited, 0, worker.output());
  t.regex(worker.output(), /closed \{"active":0,"completed":2/);
});

test('the bin refuses missing or bad arguments with its usage', async (t) => {
  const missing = run(['--queue', 'q']);
  t.is(await missing.exited, 2);
  t.regex(missing.output(), /--queue and at least one --allow are required[\s\S]*usage: reactor-threads-worker/);
  const bad = run(['--queue', 'q', '--allow', './x.js', '--threads', 'many']);
  t.is(await bad.exited, 2);
  t.regex(bad.output(), /--threads must be an integer >= 1, not many/);
  const unknown = run(['--queue', 'q', '--allow', './x.js', '--colour']);
  t.is(await unknown.exited, 2);
  t.regex(unknown.output(), /Unknown option '--colour'/);
  // (Number() read '0x2' as 2 and '1e3' as 1000; a root that is no folder was taken, and every job refused.
  // The test's own Redis: a bin that took them would serve, and must not reach the default port.)
  for (const n of ['0x2', '1e3', ' 2', '0b11']) {
    const odd = run(['--queue', 'q', '--allow', './x.js', '--redis', redis.url, '--threads', n]);
    t.is(await odd.exited, 2, n);
    t.regex(odd.output(), /--threads must be an integer >= 1, not /, n);
  }
  const root = run(['--queue', 'q', '--allow', './x.js', '--redis', redis.url, '--root', join(workerRoot(), 'no-such-folder')]);
  t.is(await root.exited, 2);
  t.regex(root.output(), /--root .*no-such-folder is not a folder/);
});

test('the bin never prints a password of its --redis URL, one with a raw @ included', async (t) => {
  const password = 'p@ss/w:rd';
  const secured = await startRedis({ password });
  t.teardown(() => secured.stop());
  // (The first '@' ended what was cut: 'ss%2Fw%3Ard@127.0.0.1' was printed.)
  const url = `redis://default:p@ss%2Fw%3Ard@127.0.0.1:${secured.port}`;
  const worker = run(['--queue', `bin-${randomUUID()}`, '--allow', './tasks.cjs', '--redis', url, '--root', workerRoot(), '--threads', '1']);
  await eventually(() => /serving|cannot serve/.test(worker.output()), `the bin serves:\n${worker.output()}`);
  worker.kill('SIGTERM');
  t.is(await worker.exited, 0, worker.output());
  t.regex(worker.output(), new RegExp(`serving \\S+ on redis://127\\.0\\.0\\.1:${secured.port} `));
  for (const part of ['p@ss', 'ss%2F', 'w%3Ard', 'default:']) t.false(worker.output().includes(part), part);
  // ioredis also reads a password from the URL's query (helper-160: printed whole).
  const query = run(['--queue', `bin-${randomUUID()}`, '--allow', './tasks.cjs', '--redis',
    `redis://127.0.0.1:${secured.port}/0?password=${encodeURIComponent(password)}`, '--root', workerRoot(), '--threads', '1']);
  await eventually(() => /serving|cannot serve/.test(query.output()), `the bin serves:\n${query.output()}`);
  query.kill('SIGTERM');
  t.is(await query.exited, 0, query.output());
  t.regex(query.output(), new RegExp(`serving \\S+ on redis://127\\.0\\.0\\.1:${secured.port}/0 `));
  for (const part of ['p@ss', 'p%40ss', 'w%3Ard']) t.false(query.output().includes(part), part);
});
