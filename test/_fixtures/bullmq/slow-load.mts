// A module whose load takes 1.5 s in each thread that imports it (a
// top-level await): a job of its function can be cancelled while the
// worker's pool thread still loads it (test/bullmq-cancellation.ts).
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadable } from 'reactor-threads';

// (A worker's test says where to note that a thread began loading this, by its environment.)
const loading = process.env.RT_TEST_SLOW_LOAD_NOTE;
if (loading) appendFileSync(loading, `loading ${process.pid}\n`);
await sleep(1_500);

/** Notes in `file` that it ran, and where. */
export const noteRun = threadable(function noteRun(file: string): string {
  appendFileSync(file, `ran ${process.pid}\n`);
  return 'ran';
});
