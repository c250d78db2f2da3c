// A program whose stdout closes for a moment and works again: a
// stream.pipeline() into it whose source fails (argv[2] 'pipeline') or
// process.stdout.destroy() ('destroy'), which Node's stdio survives.
// Two pools print before and after it (out 1 to out 4): all of their lines
// must be printed (counting such a close as final dropped every pool's
// output for the rest of the process), and every call settle.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { printLine } from './console-order-tasks.cjs';

async function run(first: number): Promise<void> {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
  pool.start();
  await deferToThreadPool(reactor, pool, printLine, 'stdout', first);
  if (first === 1) {
    if (process.argv[2] === 'destroy') {
      process.stdout.destroy();
    } else {
      const source = new Readable({ read() { /* pushed below */ } });
      source.push('partial\n');
      setTimeout(() => source.destroy(new Error('the source broke')), 10);
      await pipeline(source, process.stdout).catch(() => { /* expected */ });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await deferToThreadPool(reactor, pool, printLine, 'stdout', first + 1);
  await pool.stop();
}

await run(1);
await run(3);
process.stderr.write('done\n');
