// Child process: the main thread calls a pool thread's function through
// reactor.callFromThread(proxy), which must not block the main thread:
// the function calls the main thread back (a blocking call), which only
// a main thread that goes on can serve. Prints 'marked' or 'not marked'.
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import tasks from './proxy-tasks.cjs';

let marked = false;
const mark = reactor.keepCallable(() => { marked = true; });
const pool = new ThreadPool({ maxThreads: 1 });
pool.start();
const callsBack = await deferToThreadPool(reactor, pool, tasks.offerCallBack, mark);
reactor.callFromThread(callsBack);
const end = Date.now() + 5000;
while (!marked && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
console.log(marked ? 'marked' : 'not marked');
reactor.releaseCallable(mark);
await pool.stop();
