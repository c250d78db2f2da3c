// Soak: N tasks on 2 threads, 10% throwing, 0.1% killing their thread,
// 1% cancelled, 5% making a blocking call to the reactor and 1% moving a
// 64 KiB buffer there and back (by port, src/pool/moved-buffers.ts). Every task
// must settle exactly once with its expected outcome, and (in runs of
// 200,000 tasks or more) RSS must grow by less than 50 MB after warm-up.
// Settles are counted through callInThreadWithCallback's onResult, which
// is called once per settle (a Promise would hide a second one); the
// cancelled 1% need a signal, which only deferToThreadPool.with() takes,
// so they are counted through its Promise. If no task settles for
// STALL_MS, the run fails naming what is still pending, by kind. Prints
// the figures; exits 1 on any violation.
// Run: node dist-test/soak/soak.mjs [N] (npm run soak: 1,000,000).
import { CancelledError, deferToThreadPool, reactor, ThreadDiedError, ThreadPool, transfer } from 'reactor-threads';
import tasks from './_soak-tasks.cjs';

const N = Number(process.argv[2] ?? 1_000_000);
const WINDOW = 512;
const STALL_MS = 30_000;
const pool = new ThreadPool({ minThreads: 2, maxThreads: 2, name: 'soak' });
pool.start();

type Kind = 'ok' | 'throw' | 'die' | 'cancel' | 'bridge' | 'moved';
const MOVED_BYTES = 64 * 1024;
// A fixed pattern over each 1,000 tasks, so the mix is exact.
function kind(i: number): Kind {
  const r = i % 1000;
  if (r === 999) return 'die';           // 0.1%
  if (r % 100 === 7) return 'cancel';    // 1%
  if (r % 100 === 13) return 'moved';    // 1%
  if (r % 20 === 3) return 'bridge';     // 5%
  if (r % 10 === 1) return 'throw';      // 10%
  return 'ok';
}

const counts: Record<string, number> = {};
const settledTimes = new Uint8Array(N);
/** Submitted and not yet settled (at most WINDOW). */
const pending = new Set<number>();
const violations: string[] = [];
const note = (v: string): void => { if (violations.length < 20) violations.push(v); };

function pendingByKind(): string {
  const by: Record<string, number> = {};
  for (const i of pending) by[kind(i)] = (by[kind(i)] ?? 0) + 1;
  const list = Object.entries(by).sort().map(([k, n]) => `${k} ${n}`).join(', ');
  return list === '' ? 'nothing' : list;
}

/** Prints the failed checks on one line (a report may keep only a message's first line) and exits 1. */
function fail(why?: string): never {
  console.log(`FAILED: ${[...(why ? [why] : []), ...violations].join(' | ')}`);
  process.exit(1);
}

/** Records one settle of task i; returns true for its first. */
function check(i: number, k: Kind, ok: boolean, value: unknown): boolean {
  if (settledTimes[i] < 255) settledTimes[i]++;
  if (settledTimes[i] > 1) {
    note(`task ${i} (${k}) settled ${settledTimes[i]} times, the last ${ok ? 'resolved' : 'rejected'} with ${String(value)}`);
    return false;
  }
  pending.delete(i);
  const expect = k === 'ok' ? ok && value === i * 2
    : k === 'bridge' ? ok && value === i * 3
    : k === 'throw' ? !ok && value instanceof TypeError && (value as Error).message === `boom ${i}`
    : k === 'die' ? !ok && value instanceof ThreadDiedError
    : k === 'moved' ? ok && value instanceof Uint8Array && value.length === MOVED_BYTES
      && value[0] === (i & 255) && value[MOVED_BYTES - 1] === (i & 255)
    : !ok && value instanceof CancelledError;
  const key = `${k} ${expect ? 'as expected' : 'WRONG'}`;
  counts[key] = (counts[key] ?? 0) + 1;
  if (!expect) note(`task ${i} (${k}): ${ok ? 'resolved' : 'rejected'} with ${String(value)}`);
  return true;
}

/** Submits task i; `settled` runs on its first settle. */
function submit(i: number, settled: () => void): void {
  const k = kind(i);
  pending.add(i);
  const onResult = (ok: boolean, v: unknown): void => { if (check(i, k, ok, v)) settled(); };
  if (k === 'cancel') {
    const ac = new AbortController();
    const p = deferToThreadPool.with({ signal: ac.signal })(reactor, pool, tasks.double, i);
    ac.abort();
    p.then((v) => onResult(true, v), (e: unknown) => onResult(false, e));
    return;
  }
  if (k === 'moved') {
    pool.callInThreadWithCallback(onResult, tasks.echoMoved, transfer(new Uint8Array(MOVED_BYTES).fill(i & 255)));
    return;
  }
  const f = k === 'ok' ? tasks.double : k === 'throw' ? tasks.boom : k === 'die' ? tasks.die : tasks.askReactor;
  pool.callInThreadWithCallback(onResult, f as (i: number) => number, i);
}

const started = performance.now();
let rssAfterWarmup = 0;
let next = 0;
let finished = 0;
let finishedAtLastLook = -1;
// Bounds every wait below: no settle for STALL_MS is a failure, not a hang.
const watchdog = setInterval(() => {
  if (finished === finishedAtLastLook) {
    fail(`no task settled for ${STALL_MS / 1000} s (${finished} of ${N} settled, ${next} submitted); still pending: ${pendingByKind()}`);
  }
  finishedAtLastLook = finished;
}, STALL_MS);
await new Promise<void>((resolve) => {
  const pump = (): void => {
    while (next < N && next - finished < WINDOW) {
      submit(next++, () => {
        finished++;
        if (finished === Math.floor(N / 10)) rssAfterWarmup = process.memoryUsage().rss;
        if (finished === N) resolve(); else pump();
      });
    }
  };
  pump();
});
const seconds = (performance.now() - started) / 1000;
const rssEnd = process.memoryUsage().rss;
const growthMb = (rssEnd - rssAfterWarmup) / 1e6;
const stats = pool.stats();
clearInterval(watchdog);
const stopping = setTimeout(() => {
  fail(`stop() did not resolve within ${STALL_MS / 1000} s; ${pool.workers} threads left, still pending: ${pendingByKind()}`);
}, STALL_MS);
await pool.stop();
clearTimeout(stopping);

const missing = settledTimes.reduce((n, x) => n + (x === 0 ? 1 : 0), 0);
if (missing) note(`${missing} tasks never settled`);
// The memory bound needs a real warm-up (10% of the run): in a short run
// V8 is still growing its heap to its working size when it is sampled.
const checkMemory = N >= 200_000;
if (checkMemory && growthMb >= 50) note(`RSS grew by ${growthMb.toFixed(1)} MB after warm-up`);
console.log(`soak: ${N} tasks in ${seconds.toFixed(1)} s (${Math.round(N / seconds)} tasks/s) on 2 threads`);
console.log(`outcomes: ${Object.entries(counts).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`threads died and replaced: ${stats.threadsDied}; bridge calls served: ${stats.bridgeCallsServed}; moved by port: ${stats.movedByPort}, still held: ${stats.movedHeld}`);
if (stats.movedHeld !== 0) note(`${stats.movedHeld} tasks' moved buffers still held after every task settled`);
console.log(`RSS after warm-up ${(rssAfterWarmup / 1e6).toFixed(1)} MB, at the end ${(rssEnd / 1e6).toFixed(1)} MB `
  + `(growth ${growthMb.toFixed(1)} MB${checkMemory ? '' : '; bounded only in runs of 200,000 tasks or more'})`);
console.log(`run time p50 ${stats.runTime.p50.toFixed(3)} ms, p99 ${stats.runTime.p99.toFixed(3)} ms; queue wait p50 ${stats.queueWait.p50.toFixed(3)} ms`);
if (violations.length) fail();
console.log('soak: every task settled exactly once with its expected outcome');
