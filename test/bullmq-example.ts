// examples/scale-out, as `npm run example:scale-out` runs it: run.mjs
// starts a real redis-server, two workers and the caller, then stops
// them all, also when it is itself stopped. Without redis-server it says
// how to install it and exits 0. Each run is a child process, bounded.
import anyTest from 'ava';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { withRedis } from './_helpers/redis.js';
import { eventually } from './_helpers/wait.js';

const test = withRedis(anyTest);
const script = join(__dirname, '..', 'examples', 'scale-out', 'run.mjs');
const BOUND_MS = 60_000;

interface Run {
  output: () => string;
  /** Its exit code (null after a signal), once it and its output's holders are gone. */
  closed: Promise<number | null>;
  timedOut: () => boolean;
  stop: () => void;
}

/** Runs run.mjs; after BOUND_MS, SIGTERM (its own exit hook then kills its children), and SIGKILL 5 s later. */
function runExample(env: NodeJS.ProcessEnv = process.env): Run {
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let timedOut = false;
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const stop = (): void => { child.kill('SIGTERM'); };
  const onExit = (): void => { if (child.exitCode === null) stop(); };
  process.once('exit', onExit);
  let kill: NodeJS.Timeout | undefined;
  const bound = setTimeout(() => {
    timedOut = true;
    stop();
    kill = setTimeout(() => child.kill('SIGKILL'), 5000);
  }, BOUND_MS);
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => {
    clearTimeout(bound);
    clearTimeout(kill);
    process.off('exit', onExit);
    resolve(code);
  }));
  return { output: () => output, closed, timedOut: () => timedOut, stop };
}

/** The pids the workers printed as ready, and the Redis port run.mjs printed. */
function started(output: string): { pids: number[]; port: number | undefined } {
  const pids = [...output.matchAll(/^\[worker \d\] worker pid (\d+) ready$/gm)].map((m) => Number(m[1]));
  const port = /redis-server ready on redis:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
  return { pids, port: port === undefined ? undefined : Number(port) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(true));
  });
}

/** Nothing run.mjs started is left: its workers have exited and its Redis port refuses connections. */
async function nothingLeft(output: string): Promise<void> {
  const { pids, port } = started(output);
  await eventually(() => !pids.some(alive), `the workers ${pids.join(', ')} exit`);
  if (port !== undefined) await eventually(() => refuses(port), `redis-server on port ${port} stops`);
}

test('the example runs a dozen calls over two workers, prints where each ran, and stops everything', async (t) => {
  t.timeout(BOUND_MS + 15_000);
  const run = runExample();
  const code = await run.closed;
  const output = run.output();
  t.false(run.timedOut(), `run.mjs did not end within ${BOUND_MS} ms:\n${output}`);
  t.is(code, 0, output);
  const { pids } = started(output);
  t.is(pids.length, 2, `two workers were ready:\n${output}`);
  const calls = [...output.matchAll(/^primesBelow\((\d+)\) = (\d+): ran in worker pid (\d+), thread (\d+) on \S+$/gm)]
    .map((m) => ({ n: Number(m[1]), count: Number(m[2]), pid: Number(m[3]) }));
  t.deepEqual(calls.map((c) => c.n).sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => (i + 1) * 100_000), output);
  t.is(calls.find((c) => c.n === 100_000)?.count, 9592);
  t.is(calls.find((c) => c.n === 1_000_000)?.count, 78_498);
  t.true(calls.every((c) => pids.includes(c.pid)), `every call ran in one of the workers ${pids.join(', ')}:\n${output}`);
  t.is(new Set(calls.map((c) => c.pid)).size, 2, `the calls ran in two different worker processes:\n${output}`);
  await nothingLeft(output);
});

test('stopped while its workers run, the example stops Redis and the workers too', async (t) => {
  t.timeout(BOUND_MS + 15_000);
  const run = runExample();
  await eventually(() => started(run.output()).pids.length === 2, 'both workers are ready', 30_000)
    .catch((e: Error) => { run.stop(); throw new Error(`${e.message}:\n${run.output()}`); });
  run.stop();
  t.is(await run.closed, 130, run.output());
  await nothingLeft(run.output());
});

anyTest('without redis-server, the example says how to install it and exits 0', async (t) => {
  const run = runExample({ ...process.env, REACTOR_THREADS_REDIS_SERVER: join(__dirname, 'no-such-redis-server') });
  t.is(await run.closed, 0, run.output());
  t.regex(run.output(), /needs redis-server[\s\S]*apt-get update && apt-get install -y redis-server/);
  t.notRegex(run.output(), /worker pid/);
});
