// workerpool dedicated worker: methods registered by name, params spread.
import { threadId } from 'node:worker_threads';
import workerpool from 'workerpool';
import { add, cpu, record } from './_tasks.mjs';

workerpool.worker({
  add,
  record,
  cpu,
  echo: (buf) => new workerpool.Transfer(buf, [buf]),
  warm: (n) => (cpu(n), threadId), // warm-up only
});
