// A randomized, seeded stress test: submissions of every kind (values,
// throws, thread deaths, blocking calls, async sleeps), cancellations,
// timeouts, adjustPoolsize and stop() interleave at random. Every Promise
// must settle exactly once, and stop() must resolve. The seed is printed
// so a failure can be replayed: STRESS_SEED=<seed> npx ava dist-test/stress.js.
import test from 'ava';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { add, exitThread, fail, sleep } from './_fixtures/tasks.cjs';
import { callReactor } from './_fixtures/bridge-tasks.cjs';

/** mulberry32: small, seeded, good enough to pick actions. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

for (const round of [1, 2, 3]) {
  test(`stress round ${round}: every call settles exactly once and stop() resolves`, async (t) => {
    const seed = Number(process.env.STRESS_SEED ?? (Date.now() ^ (round * 7919)));
    t.log(`seed ${seed}`);
    const rnd = random(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const pool = new ThreadPool({ minThreads: 1, maxThreads: 3, cancelGrace: 50, idleTimeout: 20, starvationTimeout: 200 });
    pool.on('error', () => { /* reported errors are expected here */ });
    pool.start();
    const settled = new Map<number, number>();
    const all: Promise<void>[] = [];
    let n = 0;
    const track = (p: Promise<unknown>): void => {
      const id = n++;
      all.push(p.then(() => undefined, () => undefined).then(() => { settled.set(id, (settled.get(id) ?? 0) + 1); }));
    };
    for (let step = 0; step < 400; step++) {
      const action = pick(['value', 'value', 'throw', 'sleep', 'bridge', 'cancel', 'timeout', 'die', 'resize', 'pause'] as const);
      switch (action) {
        case 'value': track(deferToThreadPool(reactor, pool, add, step, 1)); break;
        case 'throw': track(deferToThreadPool(reactor, pool, fail, `f${step}`)); break;
        case 'sleep': track(deferToThreadPool(reactor, pool, sleep, Math.floor(rnd() * 20))); break;
        case 'bridge': track(deferToThreadPool(reactor, pool, callReactor, 'addLaterOnReactor', step, 1)); break;
        case 'cancel': {
          const ac = new AbortController();
          track(deferToThreadPool.with({ signal: ac.signal })(reactor, pool, sleep, 30));
          setTimeout(() => ac.abort(), Math.floor(rnd() * 30));
          break;
        }
        case 'timeout': track(deferToThreadPool.with({ runTimeout: 1 + Math.floor(rnd() * 10), queueTimeout: 50 })(reactor, pool, sleep, 20)); break;
        case 'die': if (rnd() < 0.3) track(deferToThreadPool(reactor, pool, exitThread, 1)); break;
        case 'resize': {
          const max = 1 + Math.floor(rnd() * 3);
          pool.adjustPoolsize(Math.floor(rnd() * (max + 1)), max);
          break;
        }
        case 'pause': await new Promise((r) => setTimeout(r, Math.floor(rnd() * 5))); break;
      }
    }
    // Half the rounds stop with work still queued; the others let it drain.
    if (rnd() < 0.5) await new Promise((r) => setTimeout(r, 50));
    await pool.stop();
    await Promise.all(all);
    t.is(settled.size, n);
    t.true([...settled.values()].every((x) => x === 1));
    t.is(pool.workers, 0);
  });
}
