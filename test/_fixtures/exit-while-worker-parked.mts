// Child process: a plain Worker parks on the main thread (argv[2] 'in': on
// a thread of its own pool, in blockingCallInThread), and the main
// thread's script simply ends with process.exit() in its middle.
import { Worker } from 'node:worker_threads';
import 'reactor-threads';
import './bridge-tasks.cjs';

const w = new Worker(new URL('./parked-worker.mjs', import.meta.url), { workerData: { kind: process.argv[2] ?? 'from' } });
w.once('message', () => setTimeout(() => process.exit(3), 100));
