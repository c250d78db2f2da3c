// Child process, started with NODE_OPTIONS=--require throws-in-threads.cjs:
// a blocking call to a pool whose threads die in that preload. Prints how
// it ended and after how long.
import { blockingCallInThread, ThreadPool } from 'reactor-threads';
import tasks from './tasks.cjs';

const pool = new ThreadPool({ maxThreads: 1 });
pool.start();
const started = Date.now();
try {
  blockingCallInThread.with({ pool, timeout: 1_500 })(tasks.add, 1, 2);
  console.log(JSON.stringify({ ended: 'answered' }));
} catch (e) {
  console.log(JSON.stringify({ ended: (e as Error).name, ms: Date.now() - started }));
}
await pool.stop();
