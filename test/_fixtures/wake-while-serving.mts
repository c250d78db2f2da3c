// Child process: a pool of one thread serves a flood of calls from its own
// nested pool (for 5 s) while tasks arrive 1 ms apart (for 2 s). Every task
// must settle while the flood still runs (a thread that missed its wake-up
// would take nothing until the flooding task ends). Prints 'done N', or
// what is still pending at the deadline.
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import tasks from './nested-flood.cjs';

const FLOOD_MS = 5000;
const outer = new ThreadPool({ minThreads: 1, maxThreads: 1, name: 'outer' });
outer.start();
const flooding = deferToThreadPool(reactor, outer, tasks.nestAndFlood, FLOOD_MS);
const started = Date.now();
const results: Promise<number>[] = [];
let settled = 0;
while (Date.now() - started < 2000) {
  results.push(deferToThreadPool(reactor, outer, tasks.echo, results.length).then((v) => { settled++; return v; }));
  await new Promise((r) => setTimeout(r, 1));
}
const deadline = setTimeout(() => {
  console.log(`stuck: ${settled}/${results.length} settled, queued=${outer.queued}, idle=${outer.idle}, busy=${outer.busy}`);
  process.exit(1);
}, FLOOD_MS - 1000 - (Date.now() - started));
const values = await Promise.all(results);
clearTimeout(deadline);
console.log(values.every((v, i) => v === i) ? `done ${values.length}` : 'wrong values');
await flooding;
await outer.stop();
