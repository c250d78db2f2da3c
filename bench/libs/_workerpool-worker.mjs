// workerpool dedicated worker: methods registered by name, params spread.
import { threadId } from 'node:worker_threads';
import workerpool from 'workerpool';
import { add, cpu } from './_tasks.mjs';

workerpool.worker({
  add,
  cpu,
  echo: (buf) => new workerpool.Transfer(buf, [buf]),
  warm: (n) => (cpu(n), threadId), // warm-up only
});
