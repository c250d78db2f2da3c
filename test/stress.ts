// A randomized, seeded stress test: submissions of every kind (values,
// throws, thread deaths, blocking calls, async sleeps), cancellations,
// timeouts, adjustPoolsize and stop() interleave at random. Every call
// must settle exactly once with an outcome its kind allows, and stop()
// must resolve. The seed is printed so a failure can be replayed:
// STRESS_SEED=<seed> npx ava dist-test/stress.js.
//
// Calls are counted through callInThreadWithCallback's onResult, which is
// called once per settle, so a second settle is seen. Cancellations and
// timeouts can only be asked for through deferToThreadPool.with(), whose
// Promise would hide a second settle: those calls are there to disturb the
// pool (withdrawn tasks, terminated threads) and are counted as Promises.
import test from 'ava';
import {
  CancelledError, deferToThreadPool, PoolStarvedError, PoolStoppedError, reactor, TaskTimeoutError,
  ThreadDiedError, ThreadPool,
} from 'reactor-threads';
import { add, exitThread, fail, sleep } from './_fixtures/tasks.cjs';
import { callReactor } from './_fixtures/bridge-tasks.cjs';
import { describeOutcome, Settlements, within, type Check } from './_helpers/settlements.js';

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

/**
 * An outcome check: a value `ok` accepts, or a rejection with one of
 * `errors`. Any call may also fail because the pool stopped, or because
 * its thread died (a 'die' task, or a cancelled task's thread terminated).
 */
function expect(ok: (v: unknown) => boolean, ...errors: Function[]): Check {
  const allowed = [PoolStoppedError, ThreadDiedError, ...errors];
  return (settledOk, value) => {
    if (settledOk ? ok(value) : allowed.some((E) => value instanceof E)) return undefined;
    return `unexpected: ${describeOutcome(settledOk, value)}`;
  };
}
const never = (): boolean => false;
const isNumber = (v: unknown): boolean => typeof v === 'number';

type Kind = 'value' | 'throw' | 'sleep' | 'bridge' | 'cancel' | 'timeout' | 'die';

for (const round of [1, 2, 3]) {
  test(`stress round ${round}: every call settles exactly once and stop() resolves`, async (t) => {
    const seed = Number(process.env.STRESS_SEED ?? (Date.now() ^ (round * 7919)));
    t.log(`seed ${seed}`);
    const rnd = random(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const pool = new ThreadPool({ minThreads: 1, maxThreads: 3, cancelGrace: 50, idleTimeout: 20, starvationTimeout: 200 });
    pool.on('error', () => { /* reported errors are expected here */ });
    pool.start();
    const calls = new Settlements<Kind>();
    for (let step = 0; step < 400; step++) {
      const action = pick(['value', 'value', 'throw', 'sleep', 'bridge', 'cancel', 'timeout', 'die', 'resize', 'pause'] as const);
      switch (action) {
        case 'value':
          pool.callInThreadWithCallback(calls.add('value', expect((v) => v === step + 1)), add, step, 1);
          break;
        case 'throw': {
          const thrown = (e: unknown): boolean => e instanceof TypeError && e.message === `f${step}`;
          pool.callInThreadWithCallback(calls.add('throw', (ok, v) => (!ok && thrown(v) ? undefined : expect(never)(ok, v))),
            fail, `f${step}`);
          break;
        }
        case 'sleep':
          pool.callInThreadWithCallback(calls.add('sleep', expect(isNumber)), sleep, Math.floor(rnd() * 20));
          break;
        case 'bridge':
          pool.callInThreadWithCallback(calls.add('bridge', expect((v) => v === step + 1, PoolStarvedError)),
            callReactor, 'addLaterOnReactor', step, 1);
          break;
        case 'cancel': {
          const ac = new AbortController();
          calls.addPromise('cancel', deferToThreadPool.with({ signal: ac.signal })(reactor, pool, sleep, 30),
            expect(isNumber, CancelledError));
          setTimeout(() => ac.abort(), Math.floor(rnd() * 30));
          break;
        }
        case 'timeout':
          calls.addPromise('timeout',
            deferToThreadPool.with({ runTimeout: 1 + Math.floor(rnd() * 10), queueTimeout: 50 })(reactor, pool, sleep, 20),
            expect(isNumber, TaskTimeoutError));
          break;
        case 'die':
          if (rnd() < 0.3) pool.callInThreadWithCallback(calls.add('die', expect(never)), exitThread, 1);
          break;
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
    await within(pool.stop(), 30_000, 'stop()', () => calls.pendingByKind());
    // Once stop() resolved every task is settled: no wait should be needed.
    await calls.allSettled(5000);
    t.deepEqual(calls.problems, []);
    t.is(calls.settledOnce, calls.count);
    t.is(pool.workers, 0);
  });
}
