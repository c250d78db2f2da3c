// The main thread's process.stdout made unusual before its pool's threads
// print (argv[2]): 'stub', its write() replaced by one that swallows
// output and never calls back (as jest.spyOn(...).mockImplementation(() =>
// true) does); 'proto-stub', the same on the prototype that defines it
// (Duplex's for a pipe, Writable's for a file); 'end', ended.
// Every call must settle at once, and the program exit by itself. Reports
// on stderr (with writeSync: a stubbed prototype swallows stderr's writes
// too) how long the slowest call took.
import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { add } from './tasks.cjs';
import { printLine } from './console-order-tasks.cjs';

const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
pool.start();
await deferToThreadPool(reactor, pool, add, 1, 1);
// (The stubs as test doubles make them: on the stream, or on the class that defines write().)
if (process.argv[2] === 'stub') process.stdout.write = () => true;
else if (process.argv[2] === 'proto-stub') {
  let owner = Object.getPrototypeOf(process.stdout) as Writable;
  while (!Object.hasOwn(owner, 'write')) owner = Object.getPrototypeOf(owner) as Writable;
  owner.write = () => true;
} else {
  process.stdout.end();
}
let slowest = 0;
let settled = 0;
for (let i = 0; i < 6; i++) {
  const started = performance.now();
  // (Every other task prints nothing: it must not wait for what the others printed.)
  await (i % 2 === 0 ? deferToThreadPool(reactor, pool, printLine, 'stdout', i) : deferToThreadPool(reactor, pool, add, i, 0));
  settled++;
  slowest = Math.max(slowest, performance.now() - started);
}
writeSync(2, `settled ${settled}, slowest ${Math.round(slowest)} ms\n`);
await pool.stop();
