// Registers module hooks at run time; the pool's `preload` option makes each
// thread register them too, so a thread can import the virtual module.
import './register-hooks.mjs';
import { ThreadPool, deferToThreadPool, fromModule, reactor } from 'reactor-threads';

const preload = process.argv[2] === 'with-preload' ? ['./register-hooks.mjs'] : [];
const pool = new ThreadPool({ maxThreads: 1, preload });
pool.start();
const answer = await deferToThreadPool(reactor, pool, fromModule('virtual:answer', 'answer'))
  .catch((e) => `${e.name}: ${e.message}`);
await pool.stop();
console.log(JSON.stringify({ answer }));
