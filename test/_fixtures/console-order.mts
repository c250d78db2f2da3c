// Runs `count` printing tasks on a pool of `threads` threads, `rounds`
// times with a new pool each time, and, as each caller's Promise settles,
// writes `settled <i>` to stdout (i counts on across rounds); the test
// reads stdout and stderr from one file and checks each task's output
// came first. (Whether a broken order shows depends on how a thread's
// first output meets the owner's first ask for it: each round is a new draw.)
// Args: mode (printLine's stream, 'encoded', 'wide': 4 KiB and a line on
// stderr, or 'blocking': every other task prints then makes a blocking
// call), count, threads, rounds.
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { printEncoded, printLine, printThenBlock, printWide } from './console-order-tasks.cjs';

const [mode = 'stdout', count = '200', threads = '1', rounds = '1'] = process.argv.slice(2).map(String);
for (let round = 0; round < Number(rounds); round++) {
  const pool = new ThreadPool({ minThreads: Number(threads), maxThreads: Number(threads) });
  pool.start();
  const calls: Promise<void>[] = [];
  for (let i = round * Number(count); i < (round + 1) * Number(count); i++) {
    const call = mode === 'encoded' ? deferToThreadPool(reactor, pool, printEncoded, i)
      : mode === 'wide' ? deferToThreadPool(reactor, pool, printWide, 'stderr', i)
      : mode === 'blocking' ? (i % 2 ? deferToThreadPool(reactor, pool, printThenBlock, i) : deferToThreadPool(reactor, pool, printLine, 'stdout', i))
        : deferToThreadPool(reactor, pool, printLine, mode, i);
    calls.push(call.then((v) => { process.stdout.write(`settled ${v}\n`); }));
  }
  await Promise.all(calls);
  await pool.stop();
}
