// Runs ONE workload for ONE library in this process and prints one JSON
// line with its figures. bench/run.mjs starts one process per run, so no
// library shares a process (or a JIT, or a heap) with another.
// Usage: node [--expose-gc] bench/workload.mjs <workload> <library> [--quick]
const started = performance.now();
const [workload, lib] = process.argv.slice(2);
const quick = process.argv.includes('--quick');
const THREADS = 2;

const pct = (xs, p) => { const s = Float64Array.from(xs).sort(); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
const rate = (n, ms) => n / (ms / 1000);
const open = async (options = {}) => (await import(`./libs/${lib}.mjs`)).default({ threads: THREADS, ...options });

/** cpu(units) takes about `ms` here (measured now, in this process); and what one took. */
async function calibrate(ms) {
  const { cpu } = await import('./libs/_tasks.mjs');
  for (let i = 0; i < 50; i++) cpu(5_000);  // JIT
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) cpu(5_000);
  const per = (performance.now() - t0) / (20 * 5_000);
  const units = Math.round(ms / per);
  const took = [];
  for (let i = 0; i < 3; i++) {
    const t1 = performance.now();
    cpu(units);
    took.push(performance.now() - t1);
  }
  return { units, taskMs: took.sort((a, b) => a - b)[1] };
}

/** CPU-bound tasks: wall time on 2 threads, and the speed-up over running them serially here. */
async function cpuTasks(n, units) {
  const { cpu } = await import('./libs/_tasks.mjs');
  const t0 = performance.now();
  for (let i = 0; i < n; i++) cpu(units);
  const serialMs = performance.now() - t0;
  const pool = await open();
  const t1 = performance.now();
  await Promise.all(Array.from({ length: n }, () => pool.cpu(units)));
  const wallMs = performance.now() - t1;
  await pool.close();
  return { wallMs, serialMs, speedup: serialMs / wallMs };
}

/** firstburst: 8 tasks of about 40 ms at once, from pool creation (cold) or on a warmed pool. */
async function eightLongTasks({ cold }) {
  const { units, taskMs } = await calibrate(40);
  const t0 = performance.now();
  const pool = await open({ warm: !cold });
  const t1 = cold ? t0 : performance.now();
  await Promise.all(Array.from({ length: 8 }, () => pool.cpu(units)));
  const wallMs = performance.now() - t1;
  await pool.close();
  return { wallMs, idealRatio: wallMs / (4 * taskMs) };
}

/** Tasks made by call(pool, i), at most 256 in flight: throughput with pipelining. */
async function pipelined(call) {
  const pool = await open();
  const n = quick ? 20_000 : 200_000;
  let next = 0, done = 0;
  const t0 = performance.now();
  await new Promise((resolve, reject) => {
    const pump = () => {
      while (next < n && next - done < 256) {
        call(pool, next++).then(() => { if (++done === n) resolve(); else pump(); }, reject);
      }
    };
    pump();
  });
  const ms = performance.now() - t0;
  await pool.close();
  return { opsPerSec: rate(n, ms) };
}

const workloads = {
  /** One trivial call at a time: latency. */
  async seq() {
    const pool = await open();
    const n = quick ? 2_000 : 20_000;
    for (let i = 0; i < 1_000; i++) await pool.add(i, 1);
    const lat = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      await pool.add(i, 1);
      lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    await pool.close();
    return { p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
  },

  /** Trivial tasks, at most 256 in flight: throughput with pipelining. */
  window: () => pipelined((pool, i) => pool.add(i, 1)),

  /** As window, with a small record in and out: `{ id, name, tags }` -> `{ id, ok, tags }`. */
  records: () => pipelined((pool, id) => pool.record({ id, name: 'task', tags: ['a', 'b'] }).then((r) => {
    if (r.id !== id || !r.ok) throw new Error(`record ${id} came back as ${JSON.stringify(r)}`);
  })),

  /** Trivial tasks, all submitted at once. */
  async burst() {
    const pool = await open();
    const n = quick ? 10_000 : 50_000;
    const t0 = performance.now();
    const all = [];
    for (let i = 0; i < n; i++) all.push(pool.add(i, 1));
    await Promise.all(all);
    const ms = performance.now() - t0;
    await pool.close();
    return { opsPerSec: rate(n, ms) };
  },

  /** CPU-bound tasks: 2,000 × 5,000 JSON.stringify. */
  cpu: () => cpuTasks(quick ? 200 : 2_000, 5_000),
  /** CPU-bound tasks about 5x longer than cpu's: 400 × 25,000 JSON.stringify. */
  cpulong: () => cpuTasks(quick ? 40 : 400, 25_000),

  /** 8 tasks of about 40 ms at once on a started, warmed pool: wall time against the ideal (4 tasks' time). */
  firstburst: () => eightLongTasks({ cold: false }),
  /** The same on a cold pool: created when the burst comes, thread start included. */
  firstburstcold: () => eightLongTasks({ cold: true }),

  /** Throughput of cpu's tasks at 1 and at 2 threads, and the ratio. */
  async scaling() {
    const n = quick ? 200 : 1_000;
    const rates = [];
    for (const threads of [1, 2]) {
      const pool = await open({ threads });
      const t0 = performance.now();
      await Promise.all(Array.from({ length: n }, () => pool.cpu(5_000)));
      rates.push(rate(n, performance.now() - t0));
      await pool.close();
    }
    return { oneThread: rates[0], twoThreads: rates[1], scale: rates[1] / rates[0] };
  },

  /** A 16 MiB ArrayBuffer to a thread and back (moved where the library can). */
  async payload() {
    const pool = await open();
    const size = 16 * 1024 * 1024;
    const n = quick ? 4 : 20;
    let buf = new ArrayBuffer(size);
    new Uint8Array(buf).fill(1);
    buf = await pool.echo(buf);  // warm
    const t0 = performance.now();
    for (let i = 0; i < n; i++) buf = await pool.echo(buf);
    const ms = performance.now() - t0;
    if (buf.byteLength !== size || new Uint8Array(buf)[size - 1] !== 1) throw new Error('payload came back wrong');
    await pool.close();
    return { mbPerSec: (size * n) / 1e6 / (ms / 1000) };
  },

  /** Import, pool creation and the first completed call, from process start. */
  async startup() {
    const pool = await open({ warm: false });
    await pool.add(1, 2);
    const ms = performance.now() - started;
    await pool.close();
    return { ms };
  },

  /** After its work, with no close(), does the process exit by itself? (The parent times it.) */
  async idle() {
    const pool = await open({ warm: false });
    await pool.add(1, 2);
    return { left: true };  // the parent waits for exit
  },

  /** Memory per queued task: 100,000 trivial tasks queued behind busy threads. */
  async queue() {
    if (typeof gc !== 'function') throw new Error('run with --expose-gc');
    const pool = await open();
    const n = quick ? 20_000 : 100_000;
    const blockers = Array.from({ length: THREADS }, () => pool.cpu(200_000));  // keep both threads busy
    await new Promise((r) => setTimeout(r, 50));
    gc(); gc();
    const before = process.memoryUsage();
    const queued = [];
    for (let i = 0; i < n; i++) queued.push(pool.add(i, 1));
    gc(); gc();
    const after = process.memoryUsage();
    await Promise.all([...blockers, ...queued]);
    await pool.close();
    return {
      bytesPerTask: (after.rss - before.rss) / n,
      heapBytesPerTask: (after.heapUsed + after.external - before.heapUsed - before.external) / n,
    };
  },
};

const run = workloads[workload];
if (!run) throw new Error(`unknown workload ${workload}`);
const result = await run();
process.stdout.write(`${JSON.stringify(result)}\n`);
if (workload !== 'idle') process.exit(0);
