// The scale-out example in one command (npm run example:scale-out): a
// throwaway redis-server, two worker.mjs processes and caller.mjs, all on
// this machine; then it stops them and exits with the caller's status.
// Every child is killed when this process exits, on any path, so a
// failure or Ctrl-C leaves nothing running.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const here = import.meta.dirname;
const children = new Set();
let dir;
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));

// (REACTOR_THREADS_REDIS_SERVER may name another binary, as for the tests' Redis helper.)
const named = process.env.REACTOR_THREADS_REDIS_SERVER || 'redis-server';
const candidates = named.includes('/') ? [named] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, named));
const redisServer = candidates.find((path) => { try { accessSync(path, constants.X_OK); return true; } catch { return false; } });
if (!redisServer) {
  const where = named.includes('/') ? named : `${named} on PATH`;
  console.log(`The scale-out example needs redis-server, and there is none here (no ${where}); nothing was started.\n`
    + 'Install it with:  apt-get update && apt-get install -y redis-server\nthen run: npm run example:scale-out');
  process.exit(0);
}

/**
 * Spawns a child and resolves with it once its output shows `ready`;
 * rejects if it exits first or takes 20 s. Its output goes to ours,
 * labelled, but for redis-server's, shown only if it fails.
 */
function start(label, command, args, ready, env = process.env) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const echo = label !== 'redis-server';
  let output = '';
  return new Promise((resolve, reject) => {
    const fail = (why) => reject(new Error(`${label} ${why}${echo ? '' : `:\n${output}`}`));
    const timer = setTimeout(() => fail('was not ready within 20 s'), 20_000);
    const read = (data) => {
      output += data;
      if (echo) process.stdout.write(String(data).replace(/^(?=.)/gm, `[${label}] `));
      if (output.includes(ready)) { clearTimeout(timer); resolve(child); }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code, signal) => { clearTimeout(timer); fail(`exited (${code ?? signal})`); });
  });
}

/** SIGTERM, then up to 10 s for it to exit (the exit hook kills it if it does not). */
async function stop(child) {
  if (!children.has(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000, undefined, { ref: false })]);
}

/** A loopback port that was free a moment ago. */
function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server on a free port. Another process can take the port
 * between the probe and Redis's bind (tests and benchmarks start theirs
 * too): then another port is tried.
 */
async function startRedis() {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      // No persistence (--save '', --appendonly no) and loopback only: a Redis for this run alone.
      const redis = await start('redis-server', redisServer,
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], 'Ready to accept connections');
      return { redis, port };
    } catch (e) {
      if (attempt === 5 || !String(e.message).includes('Address already in use')) throw e;
    }
  }
}

async function main() {
  dir = mkdtempSync(join(tmpdir(), 'scale-out-redis-'));
  const { redis, port } = await startRedis();
  const env = { ...process.env, REDIS_URL: `redis://127.0.0.1:${port}` };
  console.log(`redis-server ready on ${env.REDIS_URL}`);
  const workers = await Promise.all([1, 2].map((i) => start(`worker ${i}`, process.execPath, [join(here, 'worker.mjs')], ' ready', env)));

  const caller = spawn(process.execPath, [join(here, 'caller.mjs')], { env, stdio: 'inherit' });
  children.add(caller);
  const status = await new Promise((resolve) => caller.once('exit', (code) => resolve(code ?? 1)));
  children.delete(caller);
  await Promise.all(workers.map(stop));
  await stop(redis);
  return status;
}

main().then((status) => process.exit(status), (e) => {
  console.error(`scale-out: ${e.message}`);
  process.exit(1);
});
