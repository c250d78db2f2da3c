// A second caller process for bullmq-chaos.mjs: makes `n` calls through
// its own BullMQThreadPool on the chaos queue, stops the pool after
// `stopAfter` ms with calls in flight, prints a JSON summary, and must
// then exit by itself. argv[2]: JSON { distTest, queueName, connection, root, n, stopAfter, checkInterval }.
'use strict';
const { join } = require('node:path');
const o = JSON.parse(process.argv[2]);
const { createRequire } = require('node:module');
const req = createRequire(join(o.distTest, 'x.js'));
const { BullMQThreadPool } = req('reactor-threads/bullmq');
const tasks = req('./_fixtures/bullmq/tasks.cjs');

const pool = new BullMQThreadPool({ queueName: o.queueName, connection: o.connection, root: o.root, checkInterval: o.checkInterval, ...(o.keep ? { keepFinished: o.keep } : {}) });
pool.on('error', (e) => { process.stderr.write(`pool error: ${String(e)}\n`); });
pool.start();
const settled = new Array(o.n).fill(0);
const outcomes = {};
const wrong = [];
for (let i = 0; i < o.n; i++) {
  const kind = i % 3;
  const onResult = (ok, value) => {
    settled[i]++;
    if (settled[i] > 1) wrong.push(`call ${i} settled ${settled[i]} times`);
    const k = ok ? 'ok' : (value && value.name) || String(value);
    outcomes[k] = (outcomes[k] || 0) + 1;
    if (ok && kind === 0 && value !== i + 1) wrong.push(`call ${i}: add gave ${value}`);
  };
  if (kind === 0) pool.callInThreadWithOptions({ attempts: 2 }, onResult, tasks.add, i, 1);
  else if (kind === 1) pool.callInThreadWithOptions({}, onResult, tasks.nap, 20 + (i % 300));
  else pool.callInThreadWithOptions({ priority: 1 + (i % 5) }, onResult, tasks.spin, 5 + (i % 40));
}
setTimeout(async () => {
  const before = pool.stats();
  const t0 = Date.now();
  await pool.stop();
  const stopMs = Date.now() - t0;
  const unsettled = settled.filter((c) => c === 0).length;
  process.stdout.write(`summary ${JSON.stringify({ before, stopMs, unsettled, outcomes, wrong, after: pool.stats() })}\n`);
}, o.stopAfter);
