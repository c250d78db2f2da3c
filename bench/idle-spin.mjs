// What a pool thread's idle spin costs when work comes paced, as from I/O,
// timers or a caller that works between its calls: the pool threads' CPU
// per task (Linux's schedstat, in ns) and the round trip's p50, for
//   defer     deferToThread of x + 1, one awaited every gap
//   blocking  blockingCallInThread of the same, one every gap
// The caller sleeps through each gap (Atomics.wait), so its own CPU does
// not compete. A spin that never catches its next task shows as CPU here;
// one that does shows as a lower p50. Linux only.
//
// Run: node bench/idle-spin.mjs [--gaps=0,200,1000] [--calls=2000]
import { readdirSync, readFileSync } from 'node:fs';

const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const gaps = (arg('gaps') ?? '0,200,1000').split(',').map(Number);
const calls = Number(arg('calls') ?? 2000);

const preexisting = new Set(readdirSync('/proc/self/task'));
const { blockingCallInThread, deferToThread } = await import('../dist/index.js');
const { incInThread } = await import('./_sync-fns.mjs');

/** CPU ns of each thread started since this script began (the pool's). */
function poolThreadsNs() {
  let ns = 0;
  for (const t of readdirSync('/proc/self/task')) {
    if (preexisting.has(t)) continue;
    try { ns += Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]); } catch { /* exited */ }
  }
  return ns;
}

const gate = new Int32Array(new SharedArrayBuffer(4));
const sleepUs = (us) => { if (us > 0) Atomics.wait(gate, 0, 0, us / 1000); };

async function measure(kind, gapUs) {
  const call = kind === 'defer' ? (i) => deferToThread(incInThread, i) : (i) => blockingCallInThread(incInThread, i);
  for (let i = 0; i < 200; i++) await call(i);  // warm
  const lat = new Float64Array(calls);
  const before = poolThreadsNs();
  for (let i = 0; i < calls; i++) {
    sleepUs(gapUs);
    const t = performance.now();
    await call(i);
    lat[i] = performance.now() - t;
  }
  const ns = poolThreadsNs() - before;
  lat.sort();
  console.log(`${kind.padEnd(8)} gap ${String(gapUs).padStart(5)} us: pool threads ${(ns / calls / 1000).toFixed(1).padStart(6)} us CPU/call, `
    + `p50 ${(lat[calls >> 1] * 1000).toFixed(0)} us`);
}

for (const gap of gaps) {
  await measure('defer', gap);
  await measure('blocking', gap);
}
process.exit(0);
