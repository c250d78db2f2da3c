// A pool whose preload is itself TypeScript: under tsx it loads in each thread.
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';

const pool = new ThreadPool({ maxThreads: 1, preload: ['./setup.ts'] });
pool.start();
const ran = await deferToThreadPool(reactor, pool, () => (globalThis as { setupRan?: boolean }).setupRan === true);
await pool.stop();
console.log(JSON.stringify({ ran }));
