// Child process: the CPU count its main thread sees, and a new pool's default max.
import { availableParallelism } from 'node:os';
import { ThreadPool } from 'reactor-threads';

const pool = new ThreadPool();
console.log(JSON.stringify({ availableParallelism: availableParallelism(), defaultMax: pool.max }));
void pool.stop();
