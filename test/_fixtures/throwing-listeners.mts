// Child process: 'error' and 'drain' listeners that throw while the pool
// settles calls (stop() rejecting queued fire-and-forget calls; a task's
// settle making room). Prints what settled, whether stop() threw, and the
// uncaught exceptions the listeners' errors became (test/threadpool-robustness.ts).
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import tasks from './tasks.cjs';

const { add, sleep } = tasks;
const uncaught: string[] = [];
process.on('uncaughtException', (e) => { uncaught.push((e as Error).message); });
const settled = (p: Promise<unknown>): Promise<string> => Promise.race([p.then(() => 'ok', (e: Error) => e.name),
  new Promise<string>((r) => setTimeout(() => r('not settled'), 5_000))]);

// 1. stop() rejects two queued fire-and-forget calls, whose 'error' listener throws, then a queued call.
const a = new ThreadPool({ maxThreads: 1, concurrentTasksPerThread: 1 });
a.on('error', (e: Error) => { throw new Error(`error listener threw on ${e.name}`); });
a.start();
const running = deferToThreadPool(reactor, a, sleep, 100);
while (a.busy !== 1) await new Promise((r) => setTimeout(r, 5));
a.callInThread(add, 1, 2);
a.callInThread(add, 3, 4);
const queued = deferToThreadPool(reactor, a, add, 5, 6);
let stopThrew = false;
let stopped: Promise<void> | undefined;
try { stopped = a.stop(); } catch { stopThrew = true; }
const queuedOutcome = await settled(queued);
await settled(running);
const stopOutcome = stopped ? await settled(stopped) : 'threw';

// 2. A 'drain' listener that throws, emitted as a task's settle makes room: that task still gets its answer.
const b = new ThreadPool({ maxThreads: 1, concurrentTasksPerThread: 1, maxQueue: 1 });
b.on('drain', () => { throw new Error('drain listener threw'); });
b.start();
const first = deferToThreadPool(reactor, b, sleep, 100);
while (b.busy !== 1) await new Promise((r) => setTimeout(r, 5));
const second = deferToThreadPool(reactor, b, sleep, 1);
const third = await settled(deferToThreadPool(reactor, b, add, 1, 1));  // refused: the queue is full
const firstOutcome = await settled(first);
const secondOutcome = await settled(second);
await b.stop();
await new Promise((r) => setImmediate(r));
console.log(JSON.stringify({ stopThrew, queuedOutcome, stopOutcome, third, firstOutcome, secondOutcome, uncaught }));
