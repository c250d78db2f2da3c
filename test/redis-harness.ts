// The Redis harness (test/_helpers/redis.ts) against a real redis-server,
// spoken to in raw RESP (test/_helpers/resp.ts): free ports, restarts
// with and without persistence, passwords, a server that cannot start,
// no process left behind, and the skip path without redis-server.
import anyTest, { type ExecutionContext } from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fixture, runChild } from './_helpers/child.js';
import { INSTALL_REDIS, startRedis, withRedis, type RedisOptions, type RedisServer } from './_helpers/redis.js';
import { RespError, sendCommands } from './_helpers/resp.js';
import { eventually } from './_helpers/wait.js';

const test = withRedis(anyTest);

/** Whether `pid` runs: a zombie (killed, its parent gone, not yet reaped by init) does not. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function started(t: ExecutionContext, options?: RedisOptions): Promise<RedisServer> {
  const redis = await startRedis(options);
  t.teardown(() => redis.stop());
  return redis;
}

test('a server listens on its own loopback port and round-trips SET and GET', async (t) => {
  const [a, b] = await Promise.all([started(t), started(t)]);
  t.not(a.port, b.port);
  t.is(a.host, '127.0.0.1');
  t.is(a.url, `redis://127.0.0.1:${a.port}`);
  t.deepEqual(a.connection, { host: '127.0.0.1', port: a.port });
  t.deepEqual(await sendCommands(a.connection, [['SET', 'key', 'a'], ['GET', 'key']]), ['OK', 'a']);
  t.deepEqual(await sendCommands(b.connection, [['GET', 'key']]), [null]);
});

test('with persistence, a key survives restart() and a SIGKILL, on the same port', async (t) => {
  const redis = await started(t, { persistence: true });
  const { port } = redis;
  await sendCommands(redis.connection, [['SET', 'key', 'kept']]);
  await redis.restart();
  t.is(redis.port, port);
  t.deepEqual(await sendCommands(redis.connection, [['GET', 'key']]), ['kept']);
  await sendCommands(redis.connection, [['SET', 'after', 'crash']]);
  await redis.kill();
  t.is(redis.pid, undefined);
  await redis.restart();
  t.deepEqual(await sendCommands(redis.connection, [['MGET', 'key', 'after']]), [['kept', 'crash']]);
});

test('without persistence, restart() comes back empty', async (t) => {
  const redis = await started(t);
  await sendCommands(redis.connection, [['SET', 'key', 'lost']]);
  await redis.restart();
  t.deepEqual(await sendCommands(redis.connection, [['GET', 'key']]), [null]);
});

test('a password server refuses a command without AUTH and answers with it', async (t) => {
  const redis = await started(t, { password: 'p@ss word' });
  const [refused] = await sendCommands({ host: redis.host, port: redis.port }, [['GET', 'key']]);
  t.true(refused instanceof RespError && refused.message.startsWith('NOAUTH'), String(refused));
  t.deepEqual(redis.connection, { host: '127.0.0.1', port: redis.port, password: 'p@ss word' });
  t.is(redis.url, `redis://:p%40ss%20word@127.0.0.1:${redis.port}`);
  t.deepEqual(await sendCommands(redis.connection, [['PING']]), ['PONG']);
  await t.throwsAsync(sendCommands({ ...redis.connection, password: 'wrong' }, [['PING']]), { message: /AUTH .* failed: WRONGPASS/ });
});

test('stop() ends the process, frees the port and removes the directory', async (t) => {
  const redis = await startRedis({ persistence: true });
  const pid = redis.pid!;
  t.true(existsSync(join(redis.dir, 'appendonlydir')));
  await redis.stop();
  t.false(alive(pid));
  t.false(existsSync(redis.dir));
  await t.throwsAsync(sendCommands(redis.connection, [['PING']]), { code: 'ECONNREFUSED' });
  await redis.stop();
  await t.throwsAsync(redis.restart(), { message: /was stopped/ });
});

test('a redis-server that cannot start rejects with its output', async (t) => {
  const error = await t.throwsAsync(startRedis({ dir: '/nonexistent/rt-redis' }));
  t.regex(error!.message, /exited \(1\) before answering PING; its output:\n[^]*\/nonexistent\/rt-redis[^]*No such file or directory/);
});

test('a test process that fails leaves no redis-server running', async (t) => {
  const child = await runChild(fixture('redis-left-running.cjs'));
  t.is(child.code, 1, child.stderr);
  t.regex(child.stderr, /a test failed with its redis-server running/);
  const { pid, dir } = JSON.parse(child.stdout) as { pid: number; dir: string };
  t.false(alive(pid), `redis-server ${pid} still runs`);
  t.false(existsSync(dir));
});

test('a test process that is killed (no exit hook runs) leaves no redis-server running, on Linux', async (t) => {
  if (process.platform !== 'linux') {
    t.pass('the parent-death signal is Linux\'s');
    return;
  }
  const child = spawn(process.execPath, [fixture('redis-killed-parent.cjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  await eventually(() => out.includes('\n'), 'the child started its redis-server');
  const { pid } = JSON.parse(out) as { pid: number };
  t.true(alive(pid));
  child.kill('SIGKILL');
  await eventually(() => !alive(pid), `redis-server ${pid} died with its parent`);
  t.pass();
});

test('without redis-server, the file\'s tests are skipped with a notice naming it and the install command', async (t) => {
  const ava = join(__dirname, '..', 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
  const env = { ...process.env, REACTOR_THREADS_REDIS_SERVER: '/nonexistent/redis-server' };
  const run = await runChild(ava, ['--tap', join(__dirname, 'redis-harness.js')], 30_000, env);
  t.is(run.code, 0, run.stdout + run.stderr);
  t.regex(run.stdout, /^# pass 0$/m);
  t.regex(run.stdout, /^# skip [1-9]\d*$/m);
  const notice = run.stdout + run.stderr;
  t.regex(notice, /SKIPPED: every test in test\/redis-harness\.ts: no REACTOR_THREADS_REDIS_SERVER=\/nonexistent\/redis-server/);
  t.true(notice.includes(`Install it with:  ${INSTALL_REDIS}`));
});
