// The quick start: each of the Twisted functions, working. `npm start`.
import * as zlib from 'node:zlib';
import {
  callMultipleInThread, deferToThread, deferToThreadPool, reactor, ThreadPool,
} from 'reactor-threads';
import { checkQuota, countTo, hashRounds, logLine, QuotaError, totalBasket } from './tasks.mjs';

// deferToThread: run a function on the reactor's pool, get a Promise.
const { digest, threadId } = await deferToThread(hashRounds, 'hello', 20_000);
console.log(`deferToThread(hashRounds) -> ${digest}… computed on thread ${threadId}`);

// A plain self-contained function works too (it travels as source text).
console.log(`deferToThread((a, b) => a + b, 2, 3) -> ${await deferToThread((a, b) => a + b, 2, 3)}`);

// Built-in functions are sent by reference.
const packed = await deferToThread(zlib.deflateSync, Buffer.from('hello '.repeat(100)));
console.log(`deferToThread(zlib.deflateSync) -> ${packed.length} bytes from 600`);

// Errors keep their class across the thread boundary.
try {
  await deferToThread(checkQuota, 12, 10);
} catch (e) {
  console.log(`deferToThread(checkQuota) threw ${e.name} (instanceof QuotaError: ${e instanceof QuotaError}, limit ${e.limit})`);
}

// deferToThreadPool: the same on a pool of your own.
const pool = new ThreadPool({ minThreads: 1, maxThreads: 2, name: 'quickstart' });
pool.start();
console.log(`deferToThreadPool(reactor, pool, checkQuota) -> ${await deferToThreadPool(reactor, pool, checkQuota, 3, 10)} left`);
await pool.stop();
console.log(`pool.stop() joined its threads: workers=${pool.workers}, joined=${pool.joined}`);

// callMultipleInThread: several calls, in order, on one thread.
console.log('callMultipleInThread:');
await callMultipleInThread([[logLine, ['first']], [logLine, ['second']], [logLine, ['third']]]);

// blockingCallFromThread: a thread calls the main thread and waits for the answer.
console.log(`deferToThread(totalBasket) -> ${await deferToThread(totalBasket, ['apple', 'pear', 'apple'])} (prices asked of the main thread)`);

// A function passed to a thread stays on the main thread; the thread calls it through a proxy.
const seen = [];
await deferToThread(countTo, 3, (i) => seen.push(i));
console.log(`deferToThread(countTo, 3, onProgress) -> onProgress ran on the main thread with ${seen.join(', ')}`);

console.log('done: no stop() needed for the reactor pool, the process exits by itself');
