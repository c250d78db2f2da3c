// A worker process of the scale-out example: serves the 'primes' queue on
// REDIS_URL until SIGTERM. run.mjs starts two; on other machines, start
// it (and tasks.mjs) the same way, with REDIS_URL naming the shared Redis.
import { serveBullMQ } from 'reactor-threads/bullmq';

const server = serveBullMQ({
  queueName: 'primes',
  connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  allow: ['./tasks.mjs'],    // the only module whose functions may run here
  root: import.meta.dirname, // where ./tasks.mjs is found, whatever the working directory
  threads: 2,
});
await server.ready;
console.log(`worker pid ${process.pid} ready`);
process.once('SIGTERM', () => server.close()); // takes no more jobs, lets its active ones finish (up to lockDuration), exits
