// synckit's per-call cost, for context: its direction is the opposite of
// blockingCallFromThread (the main thread blocks while a worker runs).
import { createSyncFn } from 'synckit';

const quick = process.argv.includes('--quick');
const n = quick ? 200 : 1_000;
const inc = createSyncFn(new URL('./_synckit-worker.mjs', import.meta.url).href);
for (let i = 0; i < 100; i++) inc(i);
const t0 = performance.now();
for (let i = 0; i < n; i++) inc(i);
const usPerCall = ((performance.now() - t0) * 1000) / n;
console.log(JSON.stringify({ usPerCall }));
process.exit(0);
