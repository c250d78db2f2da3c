// BullMQ chaos: seeded random mixes of remote calls (quick, slow, throwing,
// refused, CPU-bound, cancelled while waiting and while active, run
// timeouts that fire and that do not, retries with backoff, priorities,
// queue timeouts) through two in-process BullMQThreadPools on one queue,
// while workers are SIGKILLed and replaced, SIGTERMed (close() drains),
// Redis restarts (with or without persistence), the second pool stops
// with calls in flight, and a caller child process stops its pool with
// calls in flight and must exit by itself.
// Checks after each iteration: every call's onResult ran exactly once with
// its value or an expected error class, within a bound; cancelled active
// jobs were aborted on their worker; every process exited; Redis holds no
// waiting/active job, no lock, no pool epoch key, no orphan job hash.
// Run (after npm run build:ts && npx tsc -p test/tsconfig.json):
//   node test/soak/bullmq-chaos.mjs [iterations] [steps] [seed]
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const distTest = join(here, '..', '..', 'dist-test');
const require = createRequire(join(distTest, 'x.js'));
const RT = require('reactor-threads');
const { BullMQThreadPool } = require('reactor-threads/bullmq');
const { startRedis } = require('./_helpers/redis.js');
const { startWorker, callerRoot } = require('./_helpers/bullmq-workers.js');
const tasks = require('./_fixtures/bullmq/tasks.cjs');
const { Redis } = require('ioredis');
const { Queue } = require('bullmq');

const ITERATIONS = Number(process.argv[2] ?? 4);
const STEPS = Number(process.argv[3] ?? 300);
const SEED0 = Number(process.argv[4] ?? (Date.now() & 0xffffff));
let seed = SEED0;
const LOG = process.env.CHAOS_LOG ? (s) => appendFileSync(process.env.CHAOS_LOG, `${new Date().toISOString()} ${s}\n`) : () => {};
const log = (s) => { console.log(`[${((Date.now() - T0) / 1000).toFixed(1)}s] ${s}`); LOG(s); };
const T0 = Date.now();
const random = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
const below = (n) => Math.floor(random() * n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** `p`'s value, or 'late' after `ms` (its timer cleared either way, so it keeps nothing alive). */
const within = (p, ms) => { let t; return Promise.race([p, new Promise((r) => { t = setTimeout(() => r('late'), ms); })]).finally(() => clearTimeout(t)); };
const DRAIN_MS = Number(process.env.CHAOS_DRAIN_MS ?? 40_000);
const EXIT_MS = 20_000;

const problems = []; // every unexpected thing, across iterations
const totals = {};
const note = (k) => { totals[k] = (totals[k] ?? 0) + 1; };
const dir = mkdtempSync(join(tmpdir(), 'rt-bq-chaos-'));
log(`bullmq-chaos: seed ${SEED0}, ${ITERATIONS} iterations of ${STEPS} steps, files in ${dir}`);

for (let it = 0; it < ITERATIONS; it++) {
  const itSeed = seed;
  const prob = (s) => { problems.push(`it ${it} (seed state ${itSeed}): ${s}`); log(`PROBLEM: ${s}`); };
  const persistence = random() < 0.65;
  const redis = await startRedis({ persistence });
  const queueName = `chaos-${SEED0}-${it}`;
  const threads = 1 + below(2);
  const wopts = {
    queueName, allow: ['./tasks.cjs'], threads, concurrency: threads + below(3),
    lockDuration: 1500 + below(1500), stalledInterval: 500, maxStalledCount: 1 + below(2),
  };
  const checkInterval = 300 + below(700);
  const keep = random() < 0.5 ? undefined : { age: 2 + below(5), count: 20 + below(200) };
  log(`it ${it}: persistence ${persistence}, worker ${JSON.stringify(wopts)}, checkInterval ${checkInterval}, keep ${JSON.stringify(keep)}`);

  // ---- workers ----
  const workers = new Set();
  const exits = [];
  async function addWorker() {
    const w = await startWorker(redis, wopts);
    workers.add(w);
    log(`worker ${w.pid} ready`);
    return w;
  }
  const nWorkers = 2 + below(2);
  for (let i = 0; i < nWorkers; i++) await addWorker();

  const raw = new Redis({ ...redis.connection, maxRetriesPerRequest: null, lazyConnect: false });
  raw.on('error', () => {});
  const baselineKeys = await raw.dbsize();

  // ---- pools ----
  const poolErrors = {};
  const mkPool = (name) => {
    const pool = new BullMQThreadPool({ queueName, connection: redis.connection, root: callerRoot, checkInterval, ...(keep && { keepFinished: keep }) });
    pool.on('error', (e) => { const k = `${name}: ${String(e?.message ?? e).slice(0, 120)}`; poolErrors[k] = (poolErrors[k] ?? 0) + 1; });
    pool.start();
    return { name, pool, stoppedAt: undefined };
  };
  const A = mkPool('A');
  const B = mkPool('B');
  const calls = [];
  const chaos = [];
  let lostEpochAt; // when a restart without persistence came back
  let restarts = 0;
  let sigkills = 0;
  let killedAt = [];
  const killedPids = new Set();
  const runTimeoutsSharing = wopts.concurrency > wopts.threads;
  let nextFile = 0;

  function call(p, kind, options, f, args, check, extra = {}) {
    const rec = { id: calls.length, kind, pool: p, since: Date.now(), settled: 0, options, args, check, ...extra };
    calls.push(rec);
    try {
      p.pool.callInThreadWithOptions(options, (ok, value) => {
        rec.settled++;
        if (rec.settled > 1) { prob(`call ${rec.id} (${kind}) settled ${rec.settled} times: ${ok} ${String(value?.stack ?? value).slice(0, 300)} (first: ${rec.ok} ${String(rec.value).slice(0, 200)})`); return; }
        rec.ok = ok; rec.value = value; rec.at = Date.now();
      }, f, ...args);
    } catch (e) {
      rec.thrown = e;
      prob(`call ${rec.id} (${kind}) threw synchronously: ${e?.stack ?? e}`);
    }
    return rec;
  }
  const withSignal = (ms) => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('chaos cancel')), ms);
    return ac.signal;
  };

  const chaosDone = { kill: 0, term: 0, restart: 0, stopB: false, child: false };
  let childRun;
  async function killWorker() {
    const list = [...workers];
    if (list.length === 0) return;
    const w = list[below(list.length)];
    workers.delete(w);
    sigkills++; killedAt.push(Date.now()); killedPids.add(w.pid);
    log(`SIGKILL worker ${w.pid}`);
    await w.kill();
    await addWorker();
  }
  async function termWorker() {
    const list = [...workers];
    if (list.length < 2) { await addWorker(); }
    const w = [...workers][below(workers.size)];
    workers.delete(w);
    log(`SIGTERM worker ${w.pid}`);
    const t = Date.now();
    const code = await within(w.stop(), EXIT_MS);
    if (code === 'late') {
      prob(`worker ${w.pid} did not exit within ${EXIT_MS} ms of SIGTERM; output:\n${w.output().slice(-2000)}`);
      await w.kill();
    } else {
      log(`worker ${w.pid} closed in ${Date.now() - t} ms, code ${code}: ${w.output().split('\n').filter((l) => l.startsWith('closed')).join(' ')}`);
      if (code !== 0) prob(`worker ${w.pid} exited ${code} after SIGTERM; output:\n${w.output().slice(-2000)}`);
    }
    exits.push(w);
    if (workers.size === 0 || random() < 0.7) await addWorker();
  }
  async function restartRedis() {
    restarts++;
    log(`Redis restart (persistence ${persistence})`);
    await redis.restart();
    if (!persistence) lostEpochAt = Date.now();
    log('Redis back');
  }
  async function stopB() {
    B.stoppedAt = Date.now();
    const pend = B.pool.stats().pending;
    const t = Date.now();
    await B.pool.stop();
    log(`pool B stopped with ${pend} pending in ${Date.now() - t} ms`);
    const still = calls.filter((c) => c.pool === B && c.settled === 0);
    if (still.length) prob(`pool B stop() resolved with ${still.length} calls not settled`);
  }
  function childCaller() {
    const args = { distTest, queueName, connection: redis.connection, root: callerRoot, n: 20 + below(100), stopAfter: 100 + below(1500), checkInterval, keep };
    log(`child caller: ${args.n} calls, stop after ${args.stopAfter} ms`);
    const child = spawn(process.execPath, [join(here, 'bullmq-chaos-caller.cjs'), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let summaryAt;
    child.stdout.on('data', (d) => { out += d; if (summaryAt === undefined && out.includes('summary ')) summaryAt = Date.now(); });
    child.stderr.on('data', (d) => { out += d; });
    const exited = new Promise((r) => child.once('exit', (code, sig) => r({ code, sig })));
    childRun = { child, exited };
    return (async () => {
      // Bound: its stop + exit, whatever Redis does: stopAfter plus the worst restart plus EXIT_MS.
      const res = await within(exited, args.stopAfter + EXIT_MS + 15_000);
      const summaryLine = out.split('\n').find((l) => l.startsWith('summary '));
      if (res === 'late') {
        prob(`child caller did not exit (summary: ${summaryLine ?? 'none'}); output:\n${out.slice(-2000)}`);
        child.kill('SIGKILL');
        await exited;
        return;
      }
      if (!summaryLine) { prob(`child caller exited ${JSON.stringify(res)} without a summary:\n${out.slice(-2000)}`); return; }
      const s = JSON.parse(summaryLine.slice(8));
      const exitMs = Date.now() - summaryAt;
      log(`child caller exited ${JSON.stringify(res)} ${exitMs} ms after its stop() resolved: ${summaryLine.slice(8)}`);
      if (exitMs > 5000) prob(`child caller took ${exitMs} ms to exit after its pool's stop() resolved`);
      if (res.code !== 0) prob(`child caller exit ${JSON.stringify(res)}: ${out.slice(-1000)}`);
      if (s.unsettled || s.wrong.length) prob(`child caller: ${s.unsettled} unsettled, wrong ${JSON.stringify(s.wrong)}`);
      for (const k of Object.keys(s.outcomes)) {
        if (!['ok', 'PoolStoppedError', 'ThreadDiedError', ...(persistence ? [] : ['JobLostError'])].includes(k)) prob(`child caller outcome ${k} x${s.outcomes[k]}`);
      }
    })();
  }

  // ---- steps ----
  const stopBAt = random() < 0.6 ? below(STEPS) : -1;
  const childAt = random() < 0.7 ? below(STEPS) : -1;
  for (let step = 0; step < STEPS; step++) {
    if (step === stopBAt) chaos.push(stopB().catch((e) => prob(`stop B threw ${e?.stack}`)));
    if (step === childAt) chaos.push(childCaller());
    const p = B.stoppedAt === undefined && random() < 0.35 ? B : A;
    const action = below(20);
    switch (action) {
      case 0: case 1: { const i = below(1000); call(p, 'add', {}, tasks.add, [i, 1], (ok, v) => ok && v === i + 1); break; }
      case 2: call(p, 'nap', {}, tasks.nap, [5 + below(200)], (ok, v) => ok && typeof v === 'number'); break;
      case 3: call(p, 'spin', {}, tasks.spin, [5 + below(150)], (ok, v) => ok && typeof v === 'number'); break;
      case 4: { const m = `no ${below(1e6)}`; call(p, 'throw', { attempts: 1 + below(2) }, tasks.refuse, [m], (ok, v) => !ok && v instanceof tasks.Refused && v.message === m && v.code === 'E_REFUSED'); break; }
      case 5: call(p, 'refused module', {}, RT.fromModule('node:child_process', 'execSync'), ['true'], (ok, v) => !ok && v instanceof RT.ModuleNotAllowedError); break;
      case 6: call(p, 'not sendable', {}, function plain(x) { return x; }, [1], (ok, v) => !ok && v instanceof RT.FunctionNotSendableError); break;
      case 7: {
        const ms = below(40);
        const file = join(dir, `early-${it}-${nextFile++}`);
        call(p, 'cancel early', { signal: withSignal(ms) }, tasks.nap, [100 + below(200), file], (ok, v) => (ok && typeof v === 'number') || (!ok && v instanceof RT.CancelledError), { cancelled: true, file, abortAt: Date.now() + ms });
        break;
      }
      case 8: {
        if (p === B) { call(p, 'add', {}, tasks.add, [1, 1], (ok, v) => ok && v === 2); break; }
        const file = join(dir, `abort-${it}-${nextFile++}`);
        const ms = 50 + below(4000);
        call(p, 'cancel active', { signal: withSignal(ms) }, tasks.waitForAbort, [file], (ok, v) => !ok && v instanceof RT.CancelledError, { cancelled: true, file });
        break;
      }
      case 9: {
        const rt = 50 + below(100);
        call(p, 'runTimeout fires', { runTimeout: rt }, tasks.spin, [rt + 250 + below(300)], (ok, v) => !ok && v instanceof RT.TaskTimeoutError, { timeout: true });
        break;
      }
      case 10: call(p, 'runTimeout holds', { runTimeout: 5000 }, tasks.nap, [10 + below(40)], (ok, v) => ok && typeof v === 'number', { timeout: true }); break;
      case 11: {
        const file = join(dir, `flaky-${it}-${nextFile++}`);
        const failures = below(3);
        const permanent = random() < 0.3;
        const attempts = 1 + below(3);
        const r = random();
        const backoff = r < 0.33 ? 20 + below(100) : r < 0.66 ? { type: 'fixed', delay: 20 + below(100) } : { type: 'exponential', delay: 10 + below(50) };
        call(p, 'retry', { attempts, backoff }, tasks.flaky, [file, failures, permanent], (ok, v) => {
          // (A run of a worker that was killed, or whose lock Redis's restart lost, counts too: at-least-once.)
          if (failures === 0) return ok && (v === 1 || (typeof v === 'number' && (sigkills > 0 || restarts > 0)));
          if (permanent) return (!ok && v instanceof tasks.Permanent) || (ok && typeof v === 'number');
          return (ok && typeof v === 'number') || (!ok && v instanceof Error && /^attempt \d+$/.test(v.message));
        }, { file, attempts, failures, permanent });
        break;
      }
      case 12: { const i = below(1000); call(p, 'priority', { priority: 1 + below(10) }, tasks.add, [i, 2], (ok, v) => ok && v === i + 2); break; }
      case 13: call(p, 'queueTimeout', { queueTimeout: 50 + below(500) }, tasks.nap, [20], (ok, v) => (ok && typeof v === 'number') || (!ok && v instanceof RT.TaskTimeoutError), { timeout: true }); break;
      case 14: {
        // deferToThreadPool (a Promise: counted once by construction; its outcome is still checked).
        const i = below(1000);
        const rec = { id: calls.length, kind: 'defer', pool: p, since: Date.now(), settled: 0, options: {}, check: (ok, v) => ok && v === i + 1 };
        calls.push(rec);
        RT.deferToThreadPool.with({ attempts: 2, priority: 1 + below(3) })(RT.reactor, p.pool, tasks.add, i, 1)
          .then((v) => { rec.settled++; rec.ok = true; rec.value = v; rec.at = Date.now(); }, (e) => { rec.settled++; rec.ok = false; rec.value = e; rec.at = Date.now(); });
        break;
      }
      case 15: case 16: await sleep(below(250)); break;
      case 17: case 18: await sleep(below(20)); break;
      case 19: {
        const r = random();
        if (r < 0.3 && chaosDone.kill < 3) { chaosDone.kill++; chaos.push(killWorker().catch((e) => prob(`kill: ${e?.stack}`))); }
        else if (r < 0.55 && chaosDone.term < 2) { chaosDone.term++; chaos.push(termWorker().catch((e) => prob(`term: ${e?.stack}`))); }
        else if (r < 0.7 && chaosDone.restart < 1) { chaosDone.restart++; chaos.push(restartRedis().catch((e) => prob(`restart: ${e?.stack}`))); }
        break;
      }
    }
  }
  log(`it ${it}: ${calls.length} calls made; waiting for chaos to end`);
  await Promise.all(chaos);
  const chaosEnd = Date.now();
  // ---- every call settles within a bound ----
  const deadline = Date.now() + DRAIN_MS;
  while (calls.some((c) => c.settled === 0) && Date.now() < deadline) await sleep(100);
  const drainMs = Date.now() - chaosEnd;
  const unsettled = calls.filter((c) => c.settled === 0);
  if (unsettled.length) {
    const q = new Queue(queueName, { connection: redis.connection });
    const states = {};
    for (const c of unsettled.slice(0, 40)) {
      const ids = [...(c.pool.pool === A.pool ? [] : [])];
      void ids;
    }
    // Job ids are not exposed: list the queue's non-finished jobs instead.
    const counts = await q.getJobCounts().catch((e) => String(e));
    const byKind = {};
    for (const c of unsettled) byKind[`${c.pool.name}:${c.kind}`] = (byKind[`${c.pool.name}:${c.kind}`] ?? 0) + 1;
    prob(`${unsettled.length} calls unsettled ${DRAIN_MS} ms after the chaos ended: ${JSON.stringify(byKind)}; queue counts ${JSON.stringify(counts)}; A stats ${JSON.stringify(A.pool.stats())}; B stats ${JSON.stringify(B.pool.stats())}; oldest since ${Date.now() - Math.min(...unsettled.map((c) => c.since))} ms`);
    for (const c of unsettled.slice(0, 10)) log(`  unsettled call ${c.id} ${c.pool.name} ${c.kind} opts ${JSON.stringify({ ...c.options, signal: undefined })} args ${JSON.stringify(c.args)} since ${Date.now() - c.since} ms`);
    void states;
    await q.close();
  }
  // A late second settlement would show here.
  await sleep(1500);
  // ---- outcomes ----
  const outcome = {};
  let maxLatency = 0;
  const lostLat = [];
  for (const c of calls) {
    if (c.settled !== 1) continue;
    const cls = c.ok ? 'ok' : c.value?.name ?? String(c.value);
    outcome[`${c.kind} ${cls}`] = (outcome[`${c.kind} ${cls}`] ?? 0) + 1;
    note(`${c.kind} ${cls}`);
    maxLatency = Math.max(maxLatency, c.at - c.since);
    if (c.check(c.ok, c.value)) continue;
    const v = c.value;
    // Failures any call may meet, and when.
    if (!c.ok && v instanceof RT.PoolStoppedError && c.pool.stoppedAt !== undefined) continue;
    if (!c.ok && v instanceof RT.JobLostError && !persistence && restarts > 0 && c.since < lostEpochAt) {
      lostLat.push(c.at - lostEpochAt);
      continue;
    }
    if (!c.ok && v instanceof RT.ThreadDiedError && (runTimeoutsSharing || sigkills > 0)) continue;
    prob(`call ${c.id} ${c.pool.name} ${c.kind} opts ${JSON.stringify({ ...c.options, signal: c.options.signal ? 'yes' : undefined })} args ${JSON.stringify(c.args)}: ${c.ok ? 'ok' : 'failed'} after ${c.at - c.since} ms with ${c.ok ? JSON.stringify(v) : String(v?.stack ?? v).slice(0, 1500)}`);
  }
  log(`it ${it}: outcomes ${JSON.stringify(outcome)}`);
  const slow = calls.filter((c) => c.settled === 1).sort((a, b) => (b.at - b.since) - (a.at - a.since)).slice(0, 3);
  log(`it ${it}: slowest: ${slow.map((c) => `#${c.id} ${c.pool.name} ${c.kind} ${c.ok ? 'ok' : c.value?.name} made at ${((c.since - T0) / 1000).toFixed(1)}s took ${c.at - c.since} ms`).join('; ')}`);
  log(`it ${it}: drained ${drainMs} ms after chaos; max call latency ${maxLatency} ms; JobLost latencies after restart: ${JSON.stringify(lostLat.slice(0, 20))}`);
  if (lostLat.some((l) => l > checkInterval * 5 + 3000)) prob(`JobLostError came ${Math.max(...lostLat)} ms after Redis came back (checkInterval ${checkInterval})`);
  // ---- cancelled active jobs were aborted where they ran ----
  await sleep(500);
  for (const c of calls) {
    if (!c.file || c.kind !== 'cancel active') continue;
    const lines = existsSync(c.file) ? readFileSync(c.file, 'utf8').split('\n').filter(Boolean) : [];
    const lastPid = Number(lines[lines.length - 1]?.split(' ')[1]);
    if (lines.length && lines[lines.length - 1] !== 'aborted' && killedPids.has(lastPid)) note('cancel active: last run on a SIGKILLed worker');
    else if (lines.length && lines[lines.length - 1] !== 'aborted') {
      prob(`cancel active call ${c.id} (${c.ok ? 'ok' : c.value?.name}): its job's file ends ${JSON.stringify(lines)}: not aborted on its worker`);
    } else if (lines.length) note('cancel active: aborted on worker'); else note('cancel active: never started');
  }
  // ---- stop the pools and workers ----
  for (const p of [A, B]) {
    if (p.stoppedAt !== undefined) continue;
    const t = Date.now();
    p.stoppedAt = t;
    await p.pool.stop();
    if (Date.now() - t > 5000) prob(`pool ${p.name} stop() took ${Date.now() - t} ms`);
  }
  const openWorkers = [...workers];
  await Promise.all(openWorkers.map(async (w) => {
    const code = await within(w.stop(), EXIT_MS);
    if (code === 'late') { prob(`worker ${w.pid} did not exit within ${EXIT_MS} ms of the final SIGTERM:\n${w.output().slice(-2000)}`); await w.kill(); }
    else if (code !== 0) prob(`worker ${w.pid} exit code ${code} at the end:\n${w.output().slice(-2000)}`);
    const warn = w.output().split('\n').filter((l) => /Warning|Error/.test(l));
    if (warn.length) log(`worker ${w.pid} stderr: ${[...new Set(warn)].slice(0, 5).join(' | ')}`);
  }));
  // ---- a call cancelled while its job waited: that job must not start long after ----
  for (const c of calls) {
    if (c.kind !== 'cancel early' || c.ok || !existsSync(c.file)) continue;
    const late = statSync(c.file).mtimeMs - c.abortAt;
    const runs = readFileSync(c.file, 'utf8').split('\n').filter(Boolean);
    if (late > 1000) prob(`cancel early call ${c.id} settled CancelledError, yet its job started ${Math.round(late)} ms after the abort (${JSON.stringify(runs)})`);
    else note('cancel early: started before/at abort');
  }
  // ---- Redis state ----
  await sleep(wopts.lockDuration + 200); // a SIGKILLed worker's locks expire
  const keys = [];
  let cursor = '0';
  do {
    const [next, batch] = await raw.scan(cursor, 'COUNT', 1000);
    cursor = next; keys.push(...batch);
  } while (cursor !== '0');
  const pre = `bull:${queueName}:`;
  const kinds = {};
  let jobHashes = 0;
  for (const k of keys) {
    let kind;
    if (k.startsWith(`bull:${queueName}.reactor-threads-control:`)) kind = `control:${k.slice(`bull:${queueName}.reactor-threads-control:`.length)}`;
    else if (!k.startsWith(pre)) kind = `other:${k}`;
    else {
      const rest = k.slice(pre.length);
      if (rest.startsWith('reactor-threads:pool:')) kind = 'epoch';
      else if (/^rt[^:]*$/.test(rest)) { kind = 'job'; jobHashes++; }
      else if (/^rt[^:]*:/.test(rest)) kind = `job:${rest.split(':')[1]}`;
      else kind = rest;
    }
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  const zc = async (n) => raw.zcard(pre + n).catch(() => -1);
  const ll = async (n) => raw.llen(pre + n).catch(() => -1);
  const st = {
    wait: await ll('wait'), active: await ll('active'), paused: await ll('paused'),
    prioritized: await zc('prioritized'), delayed: await zc('delayed'), completed: await zc('completed'), failed: await zc('failed'),
    stalled: await raw.scard(pre + 'stalled').catch(() => -1),
  };
  log(`it ${it}: Redis keys ${keys.length} (baseline ${baselineKeys}): ${JSON.stringify(kinds)}; ${JSON.stringify(st)}`);
  if (st.wait + st.active + st.paused + st.prioritized + st.delayed > 0) {
    const ids = [
      ...(await raw.lrange(pre + 'wait', 0, 20)), ...(await raw.lrange(pre + 'active', 0, 20)),
      ...(await raw.zrange(pre + 'prioritized', 0, 20)), ...(await raw.zrange(pre + 'delayed', 0, 20)),
    ];
    const details = [];
    for (const id of ids.slice(0, 8)) details.push(`${id}: ${JSON.stringify(await raw.hgetall(pre + id))}`.slice(0, 600));
    prob(`jobs left in Redis after every pool stopped and every worker closed: ${JSON.stringify(st)}\n    ${details.join('\n    ')}`);
  }
  if (kinds.epoch) prob(`${kinds.epoch} pool epoch keys left after every pool stopped`);
  if (kinds['job:lock']) prob(`${kinds['job:lock']} job locks left`);
  if (jobHashes !== st.completed + st.failed) prob(`orphan job hashes: ${jobHashes} hashes vs ${st.completed} completed + ${st.failed} failed`);
  if (keep && st.completed > keep.count + 5) prob(`completed jobs ${st.completed} over keepFinished.count ${keep.count}`);
  if (Object.keys(poolErrors).length) log(`it ${it}: pool errors ${JSON.stringify(poolErrors)}`);
  await raw.quit().catch(() => {});
  await redis.stop();
  for (const w of [...openWorkers, ...exits]) {
    try { process.kill(w.pid, 0); prob(`worker ${w.pid} still alive`); } catch { /* gone */ }
  }
  if (childRun) {
    try { process.kill(childRun.child.pid, 0); if (childRun.child.exitCode === null) prob('child caller still alive'); } catch { /* gone */ }
  }
}
log(`totals ${JSON.stringify(totals)}`);
log(`${problems.length} problems`);
for (const p of problems) console.log(`  ${p}`);
rmSync(dir, { recursive: true, force: true });
process.exitCode = problems.length ? 1 : 0;
// The process must now exit by itself: every pool stopped, every worker and server gone.
const hang = setTimeout(() => {
  console.log('bullmq-chaos: the driver process did not exit by itself 10 s after its end');
  if (globalThis.__dumpHandles) console.log(globalThis.__dumpHandles());
  process.exit(4);
}, 10_000);
hang.unref();
