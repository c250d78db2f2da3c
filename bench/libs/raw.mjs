// raw worker_threads: the floor of messaging cost. `threads` Workers, round
// robin, a Map of id -> resolve; no queueing; a worker error rejects all pending.
import { Worker } from 'node:worker_threads';
import { warmup } from './_warmup.mjs';

export const transfers = true;

export default async function create({ threads, warm = true }) {
  const pending = new Map();
  const workers = [];
  let nextId = 0;
  let rr = 0;
  const onMessage = ([id, result]) => {
    const resolve = pending.get(id);
    pending.delete(id);
    resolve(result);
  };
  for (let i = 0; i < threads; i++) {
    const w = new Worker(new URL('./_raw-worker.mjs', import.meta.url));
    w.on('message', onMessage);
    w.on('error', (err) => { for (const r of pending.values()) r(Promise.reject(err)); pending.clear(); });
    workers.push(w);
  }
  const call = (op, args, transferList) => new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    const w = workers[rr];
    rr = rr + 1 === threads ? 0 : rr + 1;
    w.postMessage({ id, op, args }, transferList);
  });
  if (warm) await warmup(threads, () => call('warm', [2000]));
  return {
    add: (a, b) => call('add', [a, b]),
    record: (r) => call('record', [r]),
    cpu: (n) => call('cpu', [n]),
    echo: (buf) => call('echo', [buf], [buf]),
    close: () => Promise.all(workers.map((w) => w.terminate())).then(() => {}),
  };
}
