// Child process: terminate() a plain Worker parked in blockingCallFromThread
// (argv[2] 'in': in blockingCallInThread); prints how long terminate()
// took, in ms.
import { Worker } from 'node:worker_threads';
import 'reactor-threads';
import './bridge-tasks.cjs';

const w = new Worker(new URL('./parked-worker.mjs', import.meta.url), { workerData: { kind: process.argv[2] ?? 'from' } });
await new Promise<void>((resolve) => w.once('message', () => resolve()));
await new Promise((r) => setTimeout(r, 200));  // it is parked by now
const started = Date.now();
await w.terminate();
console.log(Date.now() - started);
