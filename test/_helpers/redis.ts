// Real redis-server processes for tests that need a Redis (the BullMQ
// adapter's): each on a free loopback port with a temporary directory of
// its own, stopped, killed and restarted when the test says, and
// SIGKILLed when the test process exits, or is killed (Linux), so a
// failing or killed test leaves no redis-server behind. With { tls: true } it speaks TLS only, with a
// self-signed certificate its connection trusts. Without redis-server, withRedis(test) marks the
// file's tests skipped and says once, on stderr, how to install it.
//
//   import anyTest from 'ava';
//   import { startRedis, withRedis } from './_helpers/redis.js';
//   const test = withRedis(anyTest); // test, test.serial, hooks: all skip without redis-server
//   test('a job survives a Redis restart', async (t) => {
//     const redis = await startRedis({ persistence: true });
//     t.teardown(() => redis.stop());
//     const queue = new Queue('q', { connection: redis.connection });
//     ...
//
// REACTOR_THREADS_REDIS_SERVER names the binary (default: redis-server on
// PATH); pointing it at a missing file shows the skip path.
// Test thread only. Tests: test/redis-harness.ts.
import type { TestFn } from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespError, sendCommands } from './resp.js';

export const INSTALL_REDIS = 'apt-get update && apt-get install -y redis-server';
const HOST = '127.0.0.1';
const PING_WITHIN_MS = 10_000;
const STOP_WITHIN_MS = 5_000;
const PORT_ATTEMPTS = 5;

export interface RedisOptions {
  /** AOF on, fsynced on every write, so restart() (even after kill()) reloads the data. Default false: no AOF, no RDB. */
  persistence?: boolean;
  /** Sets --requirepass; connection and url then carry it. */
  password?: string;
  /** The working directory (AOF files); default a new temporary one, removed by stop(). A given one is kept. */
  dir?: string;
  /** TLS only: a self-signed certificate for 127.0.0.1 (made with openssl), which connection.tls.ca trusts. */
  tls?: boolean;
}

/** ioredis and BullMQ connection options (BullMQ workers add `maxRetriesPerRequest: null`). */
export interface RedisConnection {
  host: string;
  port: number;
  password?: string;
  tls?: { ca: string };
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** redis://127.0.0.1:port, or redis://:password@127.0.0.1:port. */
  readonly url: string;
  readonly connection: RedisConnection;
  readonly dir: string;
  /** The running redis-server's pid; undefined once it has exited. */
  readonly pid: number | undefined;
  /** What redis-server has written to stdout and stderr (its last 64 KB), for failure messages. */
  readonly output: string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited, and removes the directory it made. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a crash); resolves once it has exited. Keeps the directory, for restart(). */
  kill(): Promise<void>;
  /** Stops it if running (SIGTERM), then starts it on the same port and directory and waits for PING. Rejects after stop(). */
  restart(): Promise<void>;
}

/** The redis-server binary: REACTOR_THREADS_REDIS_SERVER or redis-server, as a path or looked up on PATH; undefined if none is executable. */
export function redisServerPath(): string | undefined {
  const named = process.env.REACTOR_THREADS_REDIS_SERVER || 'redis-server';
  const candidates = named.includes('/')
    ? [resolve(named)]
    : (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, named));
  return candidates.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

export function redisAvailable(): boolean {
  return redisServerPath() !== undefined;
}

/**
 * `test` itself when redis-server is available. Otherwise a TestFn whose
 * every test and hook (test, serial, failing, only, before, after.always,
 * ...) is declared with ava's `.skip`, after a notice on stderr naming
 * the test file and the command that installs redis-server.
 */
export function withRedis<Context>(test: TestFn<Context>): TestFn<Context> {
  if (redisAvailable()) return test;
  let file = fileURLToPath(test.meta.file);
  // dist-test/x.js was compiled from test/x.ts: name the source.
  const source = join(__dirname, '..', '..', 'test', relative(join(__dirname, '..'), file)).replace(/\.(c|m)?js$/, '.$1ts');
  if (existsSync(source)) file = source;
  const binary = process.env.REACTOR_THREADS_REDIS_SERVER ? `REACTOR_THREADS_REDIS_SERVER=${process.env.REACTOR_THREADS_REDIS_SERVER}` : 'redis-server on PATH';
  const rule = '='.repeat(72);
  process.stderr.write(`\n${rule}\nSKIPPED: every test in ${relative(process.cwd(), file)}: no ${binary}.\n`
    + `Install it with:  ${INSTALL_REDIS}\n${rule}\n\n`);
  return skipping(test);
}

function skipping<C>(test: TestFn<C>): TestFn<C> {
  const { serial } = test;
  const hooks = (root: TestFn<C> | TestFn<C>['serial']) => ({
    after: Object.assign(root.after.skip.bind(null), {
      always: Object.assign(root.after.always.skip.bind(null), { skip: root.after.always.skip }),
      skip: root.after.skip,
    }),
    afterEach: Object.assign(root.afterEach.skip.bind(null), {
      always: Object.assign(root.afterEach.always.skip.bind(null), { skip: root.afterEach.always.skip }),
      skip: root.afterEach.skip,
    }),
    before: Object.assign(root.before.skip.bind(null), { skip: root.before.skip }),
    beforeEach: Object.assign(root.beforeEach.skip.bind(null), { skip: root.beforeEach.skip }),
  });
  return Object.assign(test.skip.bind(null), {
    ...hooks(test),
    failing: Object.assign(test.failing.skip.bind(null), { only: test.failing.skip, skip: test.failing.skip }),
    macro: test.macro,
    meta: test.meta,
    only: test.skip,
    serial: Object.assign(serial.skip.bind(null), {
      ...hooks(serial),
      failing: Object.assign(serial.failing.skip.bind(null), { only: serial.failing.skip, skip: serial.failing.skip }),
      only: serial.skip,
      skip: serial.skip,
      todo: serial.todo,
    }),
    skip: test.skip,
    todo: test.todo,
  });
}

/**
 * util-linux's setpriv, which sets a parent-death signal and then execs
 * the command (the same pid): the exit hook does not run when the test
 * process is killed (a SIGTERM, a SIGKILL, a runner's timeout), and its
 * servers would be left running. Undefined where there is none.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => process.platform === 'linux' && existsSync(p));

/**
 * Spawns `binary`, SIGKILLed by the kernel when the thread that spawned it
 * ends, where setpriv exists: a test file's thread ends after its hooks,
 * which stop its servers anyway.
 */
function spawnDyingWithParent(binary: string, args: string[]): ChildProcess {
  const [command, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', binary, ...args]] : [binary, args];
  return spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Servers not yet stopped: the exit hook kills them and removes their directories. */
const live = new Set<RedisProcess>();
let exitHook = false;

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts redis-server on a free port of 127.0.0.1 and resolves once it
 * answers PING (after AUTH, with a password), within 10 s. Rejects, with
 * redis-server's output, when it exits or does not answer; when another
 * process took the port between the check and the bind, tries another.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const binary = redisServerPath();
  if (binary === undefined) throw new Error(`redis-server not found (set REACTOR_THREADS_REDIS_SERVER or install it: ${INSTALL_REDIS})`);
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'rt-redis-'));
  for (let attempt = 1; ; attempt++) {
    const server = new RedisProcess(binary, await freePort(), dir, ownsDir, options);
    try {
      await server.restart();
      return server;
    } catch (error) {
      const retry = server.output.includes('Address already in use') && attempt < PORT_ATTEMPTS;
      if (!retry) {
        await server.stop();
        throw error;
      }
      await server.forget();
    }
  }
}

/** A self-signed certificate for 127.0.0.1 in `dir` (cert.pem, key.pem), made once; its PEM. */
function selfSignedCertificate(dir: string): string {
  const cert = join(dir, 'cert.pem');
  if (!existsSync(cert)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', cert,
      '-days', '1', '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=IP:${HOST}`], { stdio: 'ignore' });
  }
  return readFileSync(cert, 'utf8');
}

class RedisProcess implements RedisServer {
  readonly host = HOST;
  readonly url: string;
  readonly connection: RedisConnection;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #closed: Promise<void> = Promise.resolve();
  #output = '';
  #stopped = false;

  constructor(
    readonly binary: string,
    readonly port: number,
    readonly dir: string,
    readonly ownsDir: boolean,
    readonly options: RedisOptions,
  ) {
    const { password } = options;
    this.connection = password === undefined ? { host: HOST, port } : { host: HOST, port, password };
    if (options.tls) this.connection.tls = { ca: selfSignedCertificate(dir) };
    this.url = `redis${options.tls ? 's' : ''}://${password === undefined ? '' : `:${encodeURIComponent(password)}@`}${HOST}:${port}`;
    live.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const server of live) server.killNow();
      });
    }
  }

  get pid(): number | undefined {
    return this.#running() ? this.#child?.pid : undefined;
  }

  get output(): string {
    return this.#output;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#end();
    live.delete(this);
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  async kill(): Promise<void> {
    if (this.#running()) this.#child!.kill('SIGKILL');
    await this.#exited;
  }

  /** startRedis's, when another process took the port: ends this one but keeps the directory for the next. */
  async forget(): Promise<void> {
    this.#stopped = true;
    live.delete(this);
    await this.kill();
  }

  /** The exit hook's: SIGKILL and remove the directory, synchronously. */
  killNow(): void {
    if (this.#running()) this.#child!.kill('SIGKILL');
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  async restart(): Promise<void> {
    if (this.#stopped) throw new Error(`the redis-server of port ${this.port} was stopped; start another`);
    await this.#end();
    const { persistence = false, password } = this.options;
    const args = [
      '--port', String(this.port), '--bind', HOST, '--dir', this.dir, '--daemonize', 'no', '--save', '',
      '--appendonly', persistence ? 'yes' : 'no', ...(persistence ? ['--appendfsync', 'always'] : []),
      ...(password === undefined ? [] : ['--requirepass', password]),
    ];
    if (this.options.tls) {
      // (The plain port closed: only TLS clients get in.)
      args.splice(0, 2, '--port', '0', '--tls-port', String(this.port), '--tls-cert-file', join(this.dir, 'cert.pem'),
        '--tls-key-file', join(this.dir, 'key.pem'), '--tls-ca-cert-file', join(this.dir, 'cert.pem'), '--tls-auth-clients', 'no');
    }
    const child = spawnDyingWithParent(this.binary, args);
    this.#child = child;
    // 'exit', or 'close' alone when the spawn itself failed. Not 'close'
    // alone: a child redis-server forked (a rewrite) may hold its pipes open.
    this.#exited = new Promise((done) => { child.once('exit', () => done()); child.once('close', () => done()); });
    this.#closed = new Promise((done) => child.once('close', () => done()));
    const keep = (chunk: Buffer) => { this.#output = (this.#output + chunk.toString()).slice(-65536); };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', (error) => keep(Buffer.from(`${error.message}\n`)));
    await this.#awaitPing(child);
  }

  #running(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  async #end(): Promise<void> {
    if (!this.#running()) return this.#exited;
    const child = this.#child!;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((done) => { timer = setTimeout(done, STOP_WITHIN_MS); });
    await Promise.race([this.#exited, late]);
    clearTimeout(timer);
    if (this.#running()) child.kill('SIGKILL');
    await this.#exited;
  }

  /** Resolves once this child (its pid, not another process on the port) answers PING; rejects if it exits or the bound passes. */
  async #awaitPing(child: ChildProcess): Promise<void> {
    const end = Date.now() + PING_WITHIN_MS;
    let last = 'no answer';
    while (child.exitCode === null && child.signalCode === null && Date.now() < end) {
      try {
        const [pong, info] = await sendCommands(this.connection, [['PING'], ['INFO', 'server']], 1000);
        if (pong === 'PONG' && typeof info === 'string' && info.includes(`\r\nprocess_id:${child.pid}\r\n`)) return;
        last = pong instanceof RespError ? pong.message : `PING answered ${JSON.stringify(pong)}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await this.#exited;
      throw new Error(`redis-server on ${HOST}:${this.port} did not answer PING within ${PING_WITHIN_MS} ms (${last}); its output:\n${this.#output}`);
    }
    await Promise.race([this.#closed, new Promise((r) => setTimeout(r, 1000))]); // its output, read to the end
    throw new Error(`redis-server on ${HOST}:${this.port} exited (${child.exitCode ?? child.signalCode}) before answering PING; its output:\n${this.#output}`);
  }
}
