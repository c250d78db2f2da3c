// Remote workers for test/bullmq-*.ts: each a process running
// _fixtures/bullmq/worker.mjs from a copy of the fixture folder at another
// path (its own app root, as on another machine), with a node_modules that
// finds this package. The caller side is the test itself, whose root is
// the fixture folder: a call that works proves that identity is portable.
// Test thread only.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServeBullMQOptions } from 'reactor-threads/bullmq';
import type { RedisServer } from './redis.js';

/** The caller's app root: the compiled fixture folder. */
export const callerRoot = join(__dirname, '..', '_fixtures', 'bullmq');
const packageRoot = join(__dirname, '..', '..');

let app: string | undefined;
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  if (app) rmSync(join(app, '..'), { recursive: true, force: true });
});

/** The workers' app root: a copy of the fixture folder elsewhere, made once per test process. */
export function workerRoot(): string {
  if (!app) {
    app = join(mkdtempSync(join(tmpdir(), 'rt-bullmq-')), 'app');
    cpSync(callerRoot, app, { recursive: true });
    mkdirSync(join(app, 'node_modules'));
    symlinkSync(packageRoot, join(app, 'node_modules', 'reactor-threads'), 'dir');
  }
  return app;
}

export interface WorkerProcess {
  readonly pid: number;
  /** What it wrote so far, stdout then stderr. */
  output(): string;
  /** Resolves with its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** SIGTERM: it closes, letting its active jobs finish, and exits by itself. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash would: its active jobs are left to BullMQ's stalled-job check. */
  kill(): Promise<void>;
}

export type WorkerOptions = Omit<ServeBullMQOptions, 'root' | 'connection'>;

/**
 * Starts a worker serving `options.queueName` on `redis`; resolves once it
 * takes jobs. `execArgv`: Node's flags for its process (a preload).
 */
export function startWorker(redis: RedisServer, options: WorkerOptions, execArgv: readonly string[] = []): Promise<WorkerProcess> {
  const script = join(workerRoot(), 'worker.mjs');
  const child = spawn(process.execPath, [...execArgv, script, JSON.stringify({ ...options, connection: redis.connection })],
    // (Its stdin is how it learns that this process died: worker.mts.)
    { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  // On 'close', once its stdout and stderr ended too: after 'exit' alone,
  // its last lines (`closed <stats>`) could still be on their way (a
  // bullmq-failures test read the output without them, under Node 26 in
  // the clean-clone CI of db63543).
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => { running.delete(child); resolve(code); });
  });
  const worker: WorkerProcess = {
    pid: child.pid!,
    output: () => `${stdout}${stderr}`,
    exited,
    stop: () => { child.kill('SIGTERM'); return exited; },
    kill: async () => { child.kill('SIGKILL'); await exited; },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the worker did not start in 20 s:\n${worker.output()}`)); },
      20_000);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('ready ')) { clearTimeout(timer); resolve(worker); }
    });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`the worker exited (${code}) before it was ready:\n${worker.output()}`)); });
  });
}
