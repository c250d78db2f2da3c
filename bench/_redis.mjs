// A throwaway redis-server for bench/bullmq.mjs: a free loopback port, a
// temporary directory, no persistence (no RDB snapshots, no AOF), so disk
// writes never show in the figures. test/_helpers/redis.ts is the full
// harness (restarts, passwords); this is the small part a benchmark needs.
// The server is SIGKILLed and its directory removed when this process
// exits, errors included; stop() ends it politely first.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { cpuMsOf } from './_proc-cpu.mjs';

const HOST = '127.0.0.1';
const ANSWER_WITHIN_MS = 10_000;
const PORT_ATTEMPTS = 3;

/** redis-server: $REACTOR_THREADS_REDIS_SERVER (as the tests read it) or the first on PATH; undefined if none. */
export function findRedisServer() {
  const named = process.env.REACTOR_THREADS_REDIS_SERVER || 'redis-server';
  const candidates = named.includes('/') ? [named] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, named));
  return candidates.find((p) => {
    try { accessSync(p, constants.X_OK); return statSync(p).isFile(); } catch { return false; }
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** True if the server on `port` answers, and is process `pid` (not another one that holds the port). */
function answers(port, pid) {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    let reply = '';
    const done = (ok) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (d) => { reply += d; if (reply.includes(`\r\nprocess_id:${pid}\r\n`)) done(true); });
  });
}

/**
 * Starts redis-server and resolves once it answers:
 * { connection: { host, port }, pid, cpuMs(), stop() }. Rejects with its output if
 * it exits first or does not answer within 10 s; when another process
 * took the free port before it bound, tries another port.
 */
export async function startRedis(binary) {
  const dir = mkdtempSync(join(tmpdir(), 'rt-bench-redis-'));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(binary, ['--port', String(port), '--bind', HOST, '--dir', dir, '--daemonize', 'no',
      '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d) => { output = (output + d).slice(-8192); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (e) => keep(`${e.message}\n`));
    const exited = new Promise((resolve) => child.once('close', resolve));
    const running = () => child.exitCode === null && child.signalCode === null;
    // (Synchronous: the only cleanup an exit hook can do.)
    const kill = () => {
      if (running()) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    };
    process.on('exit', kill);

    const deadline = Date.now() + ANSWER_WITHIN_MS;
    let up = false;
    while (!up && running() && Date.now() < deadline) {
      up = await answers(port, child.pid);
      if (!up) await new Promise((r) => setTimeout(r, 20));
    }
    if (up) {
      return {
        connection: { host: HOST, port },
        pid: child.pid,
        /** Its CPU time so far, ms (10 ms steps). */
        cpuMs: () => cpuMsOf(child.pid),
        async stop() {
          if (running()) child.kill('SIGTERM');
          await exited;
          kill();
          process.off('exit', kill);
        },
      };
    }
    if (running()) child.kill('SIGKILL');
    await exited;
    process.off('exit', kill);
    if (!output.includes('Address already in use') || attempt === PORT_ATTEMPTS) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server on ${HOST}:${port} did not answer; its output:\n${output}`);
    }
  }
}
