// Chaos over the API's surface: seeded random mixes as in chaos.mts (which
// keeps its own action order, in which seed 3450828 found a hang), plus
// callMultipleInThread, priority (refused), maxTasks/maxHeap recycling,
// idleTimeout retirement and adjustPoolsize, the default deferToThread
// pool, currentTask().signal, callFromThread (of a threadable, and of a
// proxy), reactor callables, queueTimeout, SharedArrayBuffer arguments,
// async tasks with concurrency above 1, bad input, and the number of
// times callInThreadWithCallback's callback runs; every value that comes
// back is checked. Written by a cold review (2026-12-06), it found
// callFromThread calls lost when their thread was terminated while they
// waited behind its held-back results (src/thread/outbox.ts).
// Run: node dist-test/soak/chaos-api.mjs [iterations] [steps] [seed]
import {
  blockingCallInThread, callMultipleInThread, CallTimeoutError, CancelledError, deferToThread, deferToThreadPool,
  FunctionNotSendableError, PoolStarvedError, PoolStoppedError, QueueFullError, reactor, TaskTimeoutError,
  ThreadDiedError, ThreadPool, transfer, ValueNotCloneableError, WouldDeadlockError, CallableReleasedError,
} from 'reactor-threads';
import { writeSync } from 'node:fs';
import t from './_chaos-api-tasks.cjs';
import { ChaosRun } from './_chaos-run.mjs';

const ITERATIONS = Number(process.argv[2] ?? 30);
const STEPS = Number(process.argv[3] ?? 300);
const SEED0 = Number(process.argv[4] ?? (Date.now() & 0xffffff));
const STALL_MS = Number(process.env.STALL_MS ?? 60_000);
console.log(`chaos-api: seed ${SEED0}, ${ITERATIONS} pools of ${STEPS} steps`);
const run = new ChaosRun(SEED0);
const { random, below, note, wrong, counts } = run;
const expected = [PoolStoppedError, ThreadDiedError, CancelledError, TaskTimeoutError, QueueFullError, PoolStarvedError, CallTimeoutError, WouldDeadlockError];
let where = '';
const watchdog = setInterval(() => {
  if (Date.now() - run.lastSettle < STALL_MS) return;
  console.log(`chaos-api: nothing settled for ${STALL_MS / 1000} s at ${where}; pending ${JSON.stringify(run.pendingByKind())}`);
  try { console.log(`chaos-api: default pool ${JSON.stringify(reactor.getThreadPool().stats())}`); } catch { /* */ }
  for (const p of livePools) try { console.log(`chaos-api: pool ${JSON.stringify(p.stats())}`); } catch { /* */ }
  console.log(`chaos-api: pid ${process.pid}; waiting 120 s more for gdb`);
  setTimeout(() => process.exit(3), 120_000);
  clearInterval(watchdog);
}, 1000);
const livePools = new Set<ThreadPool>();

type Check = (v: unknown) => string | undefined;
/** Tracks a call; `thrown`: the error its function throws by design; `check`: checks the value. */
function track(kind: string, p: Promise<unknown>, check?: Check, thrown?: (e: unknown) => boolean): Promise<void> {
  const id = run.begin(kind);
  return p.then((v) => {
    const bad = check?.(v);
    if (bad) wrong.push(`${kind} @${where}: wrong value: ${bad}`);
    else note(`${kind} ok`);
  }, (e: unknown) => {
    if (thrown?.(e)) note(`${kind} ok`);
    else if (expected.some((E) => e instanceof E)) note(`${kind} ${(e as Error).name}`);
    else wrong.push(`${kind} @${where}: ${String((e as Error)?.stack ?? e)}`);
  }).finally(() => run.settled(id));
}
const is = (want: unknown): Check => (v) => (v === want ? undefined : `got ${String(v)}, want ${String(want)}`);

function blockingCall(pool: ThreadPool | undefined, kind: string, check: Check, f: unknown, ...args: unknown[]): void {
  const call = pool === undefined ? blockingCallInThread
    : random() < 0.5 ? blockingCallInThread.with({ pool }) : blockingCallInThread.with({ pool, timeout: 3_000 });
  try {
    const v = (call as (g: unknown, ...a: unknown[]) => unknown)(f, ...args);
    const bad = check(v);
    if (bad) wrong.push(`blocking ${kind} @${where}: wrong value: ${bad}`);
    else note(`blocking ${kind} ok`);
  } catch (e) {
    if (e instanceof WouldDeadlockError || expected.some((E) => e instanceof E)) note(`blocking ${kind} ${(e as Error).name}`);
    else wrong.push(`blocking ${kind} @${where}: ${String((e as Error)?.stack ?? e)}`);
  }
  run.lastSettle = Date.now();
}

const defaultPool = reactor.getThreadPool();
let defaultErrors = 0;
defaultPool.on('error', () => { defaultErrors++; });
const settleCounts = new Map<number, number>();
const rss: number[] = [];
let tokenSeq = 0;

for (let it = 0; it < ITERATIONS; it++) {
  const maxQueue = random() < 0.3 ? 4 + below(20) : undefined;
  const minThreads = below(2);
  const opts = {
    minThreads, maxThreads: minThreads + 1 + below(3), cancelGrace: 20 + below(50), idleTimeout: 5 + below(50),
    starvationTimeout: 200, concurrentTasksPerThread: 1 + below(8),
    ...(maxQueue !== undefined && { maxQueue }),
    ...(random() < 0.35 && { maxTasksPerThread: 1 + below(20) }),
    ...(random() < 0.25 && { maxHeapPerThread: (6 + below(20)) * 1024 * 1024 }),
  };
  const pool = new ThreadPool(opts);
  livePools.add(pool);
  writeSync(2, `chaos-api: it ${it} ${JSON.stringify(opts)}\n`);
  if (random() < 0.3) reactor.suggestThreadPoolSize(1 + below(3));
  pool.on('error', () => {});
  const startLate = random() < 0.2;
  if (!startLate) pool.start();
  const calls: Promise<void>[] = [];
  const stopEarly = random() < 0.3;
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const magic = 1000 + below(1000);
  Atomics.store(shared, 1, magic);
  let sabOk = 0; let sabAll = 0;
  for (let step = 0; step < STEPS; step++) {
    where = `it ${it} step ${step}`;
    if (startLate && step === 5) pool.start();
    const action = below(34);
    const aborter = random() < 0.12 ? new AbortController() : undefined;
    if (aborter) setTimeout(() => aborter.abort(), below(20));
    const options = {
      ...(aborter && { signal: aborter.signal }),
      ...(random() < 0.08 && { runTimeout: 1 + below(10) }),
      ...(random() < 0.08 && { queueTimeout: 1 + below(30) }),
      ...(random() < 0.1 && { affinity: below(3) }),
    };
    const onDefault = random() < 0.25;
    const d = (f: unknown, ...args: unknown[]): Promise<unknown> => (onDefault
      ? (deferToThread.with(options) as (g: unknown, ...a: unknown[]) => Promise<unknown>)(f, ...args)
      : (deferToThreadPool.with(options) as (r: unknown, p: unknown, g: unknown, ...a: unknown[]) => Promise<unknown>)(reactor, pool, f, ...args));
    const on = onDefault ? 'D ' : '';
    try {
      switch (action) {
        case 0: {
          const n = 1_000 + below(60_000); const k = 1 + below(200);
          const b = t.pattern(n, k); const want = t.sumOf(b);
          calls.push(track(`${on}small sum`, d(t.checksum, transfer(b)), is(want)));
          break;
        }
        case 1: {
          const n = 65_536 + below(200_000); const k = 1 + below(200);
          const b = t.pattern(n, k); const want = t.sumOf(b);
          calls.push(track(`${on}big echo`, d(t.echoSum, transfer(b), below(4)), (v) => {
            const r = v as { sum: number; b: Uint8Array };
            if (r.sum !== want) return `sum ${r.sum} want ${want}`;
            if (r.b.length !== n || t.sumOf(r.b) !== want) return `bytes back differ (${r.b.length} of ${n})`;
            return undefined;
          }));
          break;
        }
        case 2: {
          const n = 1 + below(200_000); const k = 1 + below(200);
          const want = t.sumOf(t.pattern(n, k));
          calls.push(track(`${on}make`, d(t.makePattern, n, k), (v) => {
            const b = v as Uint8Array;
            return b.length === n && t.sumOf(b) === want ? undefined : `made bytes differ (${b.length} of ${n})`;
          }));
          break;
        }
        case 3: {
          const cancel = new AbortController();
          calls.push(track('cancel waitAbort', deferToThreadPool.with({ signal: cancel.signal })(reactor, pool, t.waitAbort, 50 + below(100)),
            is('timeout')));
          setTimeout(() => cancel.abort(), below(30));
          break;
        }
        case 4: calls.push(track('run timeout', deferToThreadPool.with({ runTimeout: 1 + below(20) })(reactor, pool, t.spin, below(40)), (v) => (typeof v === 'number' ? undefined : `${String(v)}`))); break;
        case 5: calls.push(track(`${on}throw`, d(t.fail, 'x'), (v) => `resolved ${String(v)}`, (e) => e instanceof TypeError && e.message === 'x')); break;
        case 6: { const i = below(1000); calls.push(track(`${on}ask`, d(t.askReactor, i, random() < 0.5), is(i * 3))); break; }
        case 7: { const i = below(1000); calls.push(track('ask within', d(t.askReactorWithin, i), is(i * 3))); break; }
        case 8: if (random() < 0.25) calls.push(track('die', d(t.die), (v) => `resolved ${String(v)}`)); break;
        case 9: if (random() < 0.3) blockingCall(pool, 'add', is(5), t.add, 2, 3); break;
        case 10: if (random() < 0.2) blockingCall(undefined, 'D add', is(7), t.add, 3, 4); break;
        case 11: { const ms = below(20); calls.push(track(`${on}sleep`, d(t.sleep, ms), is(ms))); break; }
        case 12:
          if (maxQueue !== undefined && random() < 0.5 && !pool.joined) await track('whenRoom', pool.whenRoom());
          else await new Promise((r) => setTimeout(r, below(5)));
          break;
        case 13: {
          // idle gaps longer than idleTimeout: threads above min retire
          if (random() < 0.3) await new Promise((r) => setTimeout(r, opts.idleTimeout + below(40)));
          break;
        }
        case 14: {
          const i = below(1000); const ask = random() < 0.3;
          calls.push(track(`${on}async`, d(t.asyncCompute, i, below(15), ask), is(i * 7 + (ask ? i * 3 : 0))));
          break;
        }
        case 15: {
          // reactor callable, blocking from the thread
          const n = below(8); let seen = 0;
          calls.push(track(`${on}callable`, d(t.callBack, (i: number) => { seen++; return 2 * i + 1; }, n), (v) =>
            (v === n * n && seen === n ? undefined : `got ${String(v)} with ${seen} calls, want ${n * n} with ${n}`)));
          break;
        }
        case 16: {
          // proxy through callFromThread: all n before the result (one FIFO per thread and reactor)
          const n = below(10); const got: number[] = [];
          calls.push(track(`${on}notify proxy`, d(t.notifyBack, (i: number) => { got.push(i); }, n), (v) =>
            (v === n && got.length === n && got.every((x, j) => x === j) ? undefined : `result ${String(v)} with calls [${got.join(',')}] of ${n}`)));
          break;
        }
        case 17: {
          // callFromThread of a threadable: recorded on the reactor before the result
          const token = `r${tokenSeq++}`; const n = below(12);
          calls.push(track(`${on}records`, d(t.sendRecords, token, n), (v) => {
            const r = t.records.get(token) ?? [];
            t.records.delete(token);
            const ok = r.length === n && r.every(([i, tid], j) => i === j && tid === v);
            if (!ok) {
              const w0 = where; const t0 = Date.now();
              const later = setInterval(() => {
                const r2 = t.records.get(token);
                if ((r2 && r.length + r2.length >= n) || Date.now() - t0 > 5000) {
                  clearInterval(later);
                  console.log(`LATE records ${token} (${w0}): ${r2 ? r2.length : 0} more arrived after ${Date.now() - t0} ms: ${JSON.stringify(r2)}`);
                }
              }, 5);
            }
            return ok ? undefined : `records ${JSON.stringify(r)} of ${n} from thread ${String(v)} (pool started ${pool.started} joined ${pool.joined})`;
          }));
          break;
        }
        case 18: {
          // callMultipleInThread on the default pool: in order, on one thread; an error stops the rest
          const token = `m${tokenSeq++}`; const m = 1 + below(6);
          const failAt = random() < 0.3 ? below(m) : -1;
          const list = Array.from({ length: m }, (_, i) => [t.step, [token, i, i === failAt, random() < 0.3 ? below(3) : 0]]);
          const errorsBefore = defaultErrors;
          const p = (callMultipleInThread as (l: unknown) => Promise<void>)(list);
          const checkRecords = (): string | undefined => {
            const r = t.records.get(token) ?? [];
            t.records.delete(token);
            const wantN = failAt >= 0 ? failAt + 1 : m;
            const ok = r.length === wantN && r.every(([i, tid], j) => i === j && tid === r[0]![1]);
            return ok ? undefined : `records ${JSON.stringify(r)}, want ${wantN} from one thread (m ${m}, failAt ${failAt})`;
          };
          calls.push(track('multiple', p, (v) => (failAt >= 0 ? `resolved though step ${failAt} throws` : checkRecords()), (e) => {
            if (!(e instanceof RangeError && e.message === `stop ${token}`)) return false;
            const bad = checkRecords();
            if (bad) { wrong.push(`multiple @${where}: ${bad}`); return true; }
            if (defaultErrors === errorsBefore) wrong.push(`multiple @${where}: error not reported to the pool's listeners`);
            return true;
          }));
          break;
        }
        case 19: {
          // shared memory
          const n = 1 + below(5);
          sabAll += n;
          calls.push(track('sab', d(t.sabAdd, shared, n).then((v) => { sabOk += n; return v; }), is(magic)));
          break;
        }
        case 20: calls.push(track('grow', d(t.grow, 64 + below(512)), (v) => (typeof v === 'number' && v >= 1 ? undefined : String(v)))); break;
        case 21: {
          // priority: a ThreadPool refuses it with a TypeError naming it
          const okRefusal = (e: unknown): boolean => e instanceof TypeError && /priority/.test((e as Error).message);
          try {
            calls.push(track('priority', (deferToThreadPool.with({ priority: 1 + below(5) }) as (r: unknown, p: unknown, g: unknown, ...a: unknown[]) => Promise<unknown>)(reactor, onDefault ? defaultPool : pool, t.add, 1, 1),
              (v) => `accepted priority: ${String(v)}`, okRefusal));
          } catch (e) {
            if (okRefusal(e)) note('priority thrown'); else wrong.push(`priority @${where}: ${String(e)}`);
          }
          break;
        }
        case 22: {
          // bad input: values that cannot cross, a function that cannot be sent
          const which = below(3);
          if (which === 0) calls.push(track(`${on}bad url`, d(t.add, new URL('http://x/'), 1), (v) => `accepted: ${String(v)}`, (e) => e instanceof ValueNotCloneableError));
          else if (which === 1) calls.push(track(`${on}bad symbol`, d(t.add, 1, Symbol('s')), (v) => `accepted: ${String(v)}`, (e) => e instanceof ValueNotCloneableError));
          else {
            const k = below(9);
            calls.push(track(`${on}bad closure`, d((x: number) => x + k, 1), (v) => `accepted: ${String(v)}`, (e) => e instanceof FunctionNotSendableError));
          }
          break;
        }
        case 23: {
          // settle exactly once, through onResult
          const a = below(100); const b = below(100);
          const f = random() < 0.1 ? t.die : random() < 0.2 ? t.fail : t.add;
          const id = run.begin('onResult'); settleCounts.set(id, 0);
          const cb = (ok: boolean, v?: unknown): void => {
            settleCounts.set(id, settleCounts.get(id)! + 1);
            run.settled(id);
            if (settleCounts.get(id)! > 1) wrong.push(`onResult @${where}: called ${settleCounts.get(id)} times`);
            if (ok && f === t.add && v !== a + b) wrong.push(`onResult @${where}: ${String(v)} for ${a}+${b}`);
            else if (ok && f !== t.add) wrong.push(`onResult @${where}: ${f.name} succeeded: ${String(v)}`);
            else if (!ok && !(expected.some((E) => v instanceof E) || (f === t.fail && v instanceof TypeError))) wrong.push(`onResult @${where}: ${String((v as Error)?.stack ?? v)}`);
            else note(`onResult ${ok ? 'ok' : (v as Error).name}`);
          };
          try {
            (pool.callInThreadWithCallback as (cb: unknown, f: unknown, ...a: unknown[]) => void)(cb, f, f === t.fail ? 'x' : a, b);
          } catch (e) {
            run.settled(id); settleCounts.delete(id);
            if (e instanceof PoolStoppedError || e instanceof QueueFullError) note(`onResult thrown ${(e as Error).name}`);
            else wrong.push(`onResult throw @${where}: ${String(e)}`);
          }
          break;
        }
        case 24: {
          // adjust the pool's size while it works
          if (random() < 0.3) {
            const min = below(2); const max = min + 1 + below(3);
            try { pool.adjustPoolsize(min, max); note('adjust'); } catch (e) { wrong.push(`adjust @${where}: ${String(e)}`); }
          }
          break;
        }
        case 25: { const i = below(1000); calls.push(track('affinity', deferToThreadPool.with({ affinity: `k${below(3)}` })(reactor, pool, t.askReactor, i, true), is(i * 3))); break; }
        case 26: calls.push(track(`${on}print`, d(t.print, below(2_000)), undefined)); break;
        case 27: calls.push(track(`${on}spin`, d(t.spin, below(5)), undefined)); break;
        case 28: {
          // queueTimeout alone
          const ms = below(15);
          const qt = 1 + below(10);
          const qp = onDefault
            ? (deferToThread.with({ queueTimeout: qt }) as (g: unknown, ...a: unknown[]) => Promise<unknown>)(t.sleep, ms)
            : (deferToThreadPool.with({ queueTimeout: qt }) as (r: unknown, p: unknown, g: unknown, ...a: unknown[]) => Promise<unknown>)(reactor, pool, t.sleep, ms);
          calls.push(track(`${on}queue timeout`, qp,
            is(ms)));
          break;
        }
        case 29: {
          // cancel an async task mid-run (its signal), with others overlapping
          const ctl = new AbortController();
          const i = below(1000);
          calls.push(track('cancel async', deferToThreadPool.with({ signal: ctl.signal })(reactor, pool, t.asyncCompute, i, 5 + below(10), random() < 0.5),
            (v) => (v === i * 7 || v === i * 10 ? undefined : String(v))));
          setTimeout(() => ctl.abort(), below(15));
          break;
        }
        case 30: if (random() < 0.2) blockingCall(pool, 'sum', is(t.sumOf(t.pattern(70_000, 3))), t.checksum, transfer(t.pattern(70_000, 3))); break;
        case 31: if (random() < 0.15 && onDefault) calls.push(track('D die', deferToThread(t.die), (v) => `resolved ${String(v)}`)); break;
        case 32: {
          // a thread's identity is stable under affinity only while it lives; just check the value type
          calls.push(track(`${on}who`, d(t.whoAmI), (v) => (typeof v === 'number' && v > 0 ? undefined : String(v))));
          break;
        }
        case 33: {
          // callable called after its task: not tested here; a sab on the default pool
          const n = 1 + below(3); sabAll += n;
          calls.push(track('D sab', deferToThread(t.sabAdd, shared, n).then((v) => { sabOk += n; return v; }), is(magic)));
          break;
        }
      }
    } catch (e) {
      if (e instanceof QueueFullError) {
        note('refused: queue full');
        if (random() < 0.3 && !pool.joined) await track('whenRoom', pool.whenRoom());
      }
      else wrong.push(`step ${action} @${where}: ${String((e as Error)?.stack ?? e)}`);
    }
    if (stopEarly && step === Math.floor(STEPS / 2)) calls.push(track('stop', pool.stop()));
  }
  where = `it ${it} end`;
  if (!pool.started && !pool.joined) pool.start();
  if (random() < 0.5) await new Promise((r) => setTimeout(r, 30));
  const drain = random() < 0.4;
  await track(drain ? 'stop drain' : 'stop', pool.stop(drain ? { drain: true } : undefined));
  await Promise.all(calls);
  const st = pool.stats();
  if (st.movedHeld !== 0) wrong.push(`it ${it}: movedHeld ${st.movedHeld} after stop`);
  if (st.threads !== 0) wrong.push(`it ${it}: threads ${st.threads} after stop`);
  const total = Atomics.load(shared, 0);
  if (total < sabOk || total > sabAll) wrong.push(`it ${it}: shared total ${total}, want ${sabOk}..${sabAll}`);
  livePools.delete(pool);
  const ds = defaultPool.stats();
  if (ds.movedHeld !== 0) wrong.push(`it ${it}: default pool movedHeld ${ds.movedHeld} with nothing in flight`);
  rss.push(process.memoryUsage().rss);
  if (it % 5 === 0) writeSync(2, `chaos-api: it ${it} rss ${(rss.at(-1)! / 1e6).toFixed(0)} MB\n`);
}
// settle-once: wait a little for any late second call
await new Promise((r) => setTimeout(r, 200));
for (const [id, c] of settleCounts) if (c !== 1) wrong.push(`onResult #${id} called ${c} times`);
console.log(`chaos-api: ${JSON.stringify(counts)}`);
console.log(`chaos-api: rss MB ${rss.map((x) => (x / 1e6).toFixed(0)).join(' ')}`);
console.log(`chaos-api: ${wrong.length} unexpected outcomes`);
for (const w of wrong.slice(0, 30)) console.log(`  ${w}`);
clearInterval(watchdog);
await reactor.getThreadPool().stop();
process.exitCode = wrong.length === 0 ? 0 : 1;
void CallableReleasedError;
