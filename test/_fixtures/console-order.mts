// Runs `count` printing tasks on a pool of `threads` threads, `rounds`
// times with a new pool each time, and, as each caller's Promise settles,
// writes `settled <i>` to stdout (i counts on across rounds); the test
// reads stdout and stderr from one file and checks each task's output
// came first. (Whether a broken order shows depends on how a thread's
// first output meets the owner's first ask for it: each round is a new draw.)
// Args: mode (printLine's stream, 'encoded', 'wide': 4 KiB and a line on
// stderr, 'blocking': every other task prints then makes a blocking
// call, or 'terminated': tasks print on both streams, then a task that
// ignores its runTimeout has its thread terminated), count, threads, rounds.
import { deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { printEncoded, printLine, printThenBlock, printWide } from './console-order-tasks.cjs';
import { ignoreAbort } from './tasks.cjs';

const [mode = 'stdout', count = '200', threads = '1', rounds = '1'] = process.argv.slice(2).map(String);
const terminated = mode === 'terminated';
for (let round = 0; round < Number(rounds); round++) {
  const pool = new ThreadPool({ minThreads: Number(threads), maxThreads: Number(threads), ...(terminated && { cancelGrace: 50 }) });
  pool.start();
  const calls: Promise<void>[] = [];
  for (let i = round * Number(count); i < (round + 1) * Number(count); i++) {
    const call = mode === 'encoded' ? deferToThreadPool(reactor, pool, printEncoded, i)
      : mode === 'wide' ? deferToThreadPool(reactor, pool, printWide, 'stderr', i)
      : mode === 'blocking' ? (i % 2 ? deferToThreadPool(reactor, pool, printThenBlock, i) : deferToThreadPool(reactor, pool, printLine, 'stdout', i))
      : terminated ? deferToThreadPool(reactor, pool, printLine, 'both', i)
        : deferToThreadPool(reactor, pool, printLine, mode, i);
    calls.push(call.then((v) => { process.stdout.write(`settled ${v}\n`); }));
  }
  if (terminated) {
    // Queued behind them: it spins, its thread's loop never turns again,
    // and that thread is terminated 50 ms after its runTimeout (cancelGrace).
    const stubborn = deferToThreadPool.with({ runTimeout: 20 })(reactor, pool, ignoreAbort, 60_000);
    calls.push(stubborn.then(() => { throw new Error('the stubborn task was not cut short'); }, (e: Error) => {
      process.stderr.write(`stubborn: ${e.name}\n`);
    }));
  }
  await Promise.all(calls);
  await pool.stop();
}
