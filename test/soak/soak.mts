// Soak: N tasks on 2 threads, 10% throwing, 0.1% killing their thread,
// 1% cancelled and 5% making a blocking call to the reactor. Every
// Promise must settle exactly once with its expected outcome, and (in runs
// of 200,000 tasks or more) RSS must grow by less than 50 MB after warm-up. Prints the figures; exits 1 on
// any violation. Run: node dist-test/soak/soak.mjs [N] (npm run soak: 1,000,000).
import { CancelledError, deferToThreadPool, reactor, ThreadDiedError, ThreadPool } from 'reactor-threads';
import tasks from './_soak-tasks.cjs';

const N = Number(process.argv[2] ?? 1_000_000);
const WINDOW = 512;
const pool = new ThreadPool({ minThreads: 2, maxThreads: 2, name: 'soak' });
pool.start();

type Kind = 'ok' | 'throw' | 'die' | 'cancel' | 'bridge';
// A fixed pattern over each 1,000 tasks, so the mix is exact.
function kind(i: number): Kind {
  const r = i % 1000;
  if (r === 999) return 'die';           // 0.1%
  if (r % 100 === 7) return 'cancel';    // 1%
  if (r % 20 === 3) return 'bridge';     // 5%
  if (r % 10 === 1) return 'throw';      // 10%
  return 'ok';
}

const counts: Record<string, number> = {};
const settledTimes = new Uint8Array(N);
const violations: string[] = [];
const note = (v: string): void => { if (violations.length < 20) violations.push(v); };

function check(i: number, k: Kind, ok: boolean, value: unknown): void {
  settledTimes[i]++;
  if (settledTimes[i] > 1) note(`task ${i} settled ${settledTimes[i]} times`);
  const expect = k === 'ok' ? ok && value === i * 2
    : k === 'bridge' ? ok && value === i * 3
    : k === 'throw' ? !ok && value instanceof TypeError && (value as Error).message === `boom ${i}`
    : k === 'die' ? !ok && value instanceof ThreadDiedError
    : !ok && value instanceof CancelledError;
  const key = `${k} ${expect ? 'as expected' : 'WRONG'}`;
  counts[key] = (counts[key] ?? 0) + 1;
  if (!expect) note(`task ${i} (${k}): ${ok ? 'resolved' : 'rejected'} with ${String(value)}`);
}

function submit(i: number): Promise<void> {
  const k = kind(i);
  const done = (ok: boolean) => (v: unknown) => check(i, k, ok, v);
  if (k === 'cancel') {
    const ac = new AbortController();
    const p = deferToThreadPool.with({ signal: ac.signal })(reactor, pool, tasks.double, i);
    ac.abort();
    return p.then(done(true), done(false));
  }
  const f = k === 'ok' ? tasks.double : k === 'throw' ? tasks.boom : k === 'die' ? tasks.die : tasks.askReactor;
  return deferToThreadPool(reactor, pool, f as (i: number) => number, i).then(done(true), done(false));
}

const started = performance.now();
let rssAfterWarmup = 0;
let next = 0;
let finished = 0;
await new Promise<void>((resolve) => {
  const pump = (): void => {
    while (next < N && next - finished < WINDOW) {
      submit(next++).then(() => {
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
await pool.stop();

const missing = settledTimes.reduce((n, x) => n + (x === 0 ? 1 : 0), 0);
if (missing) note(`${missing} tasks never settled`);
// The memory bound needs a real warm-up (10% of the run): in a short run
// V8 is still growing its heap to its working size when it is sampled.
const checkMemory = N >= 200_000;
if (checkMemory && growthMb >= 50) note(`RSS grew by ${growthMb.toFixed(1)} MB after warm-up`);
console.log(`soak: ${N} tasks in ${seconds.toFixed(1)} s (${Math.round(N / seconds)} tasks/s) on 2 threads`);
console.log(`outcomes: ${Object.entries(counts).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`threads died and replaced: ${stats.threadsDied}; bridge calls served: ${stats.bridgeCallsServed}`);
console.log(`RSS after warm-up ${(rssAfterWarmup / 1e6).toFixed(1)} MB, at the end ${(rssEnd / 1e6).toFixed(1)} MB `
  + `(growth ${growthMb.toFixed(1)} MB${checkMemory ? '' : '; bounded only in runs of 200,000 tasks or more'})`);
console.log(`run time p50 ${stats.runTime.p50.toFixed(3)} ms, p99 ${stats.runTime.p99.toFixed(3)} ms; queue wait p50 ${stats.queueWait.p50.toFixed(3)} ms`);
if (violations.length) {
  console.log(`FAILED: ${violations.join(' | ')}`);
  process.exit(1);
}
console.log('soak: every task settled exactly once with its expected outcome');
