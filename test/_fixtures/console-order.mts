// Runs `count` printing tasks on a pool of `threads` threads, `rounds`
// times with a new pool each time, and, as each caller's Promise settles,
// writes `settled <i>` to stdout (i counts on across rounds); the test
// reads stdout and stderr from one file and checks each task's output
// came first. (Whether a broken order shows depends on how a thread's
// first output meets the owner's first ask for it: each round is a new draw.)
// Args: mode (printLine's stream, 'encoded', 'wide': 4 KiB and a line on
// stderr, 'blocking': every other task prints then makes a blocking
// call, or 'terminated': tasks print on both streams, then a task that
// ignores its runTimeout has its thread terminated; 'terminated-signal':
// the same, the task cancelled by its signal instead; 'terminated-behind':
// the same as 'terminated', the task queued behind a plain one that spins
// 300 ms, which its thread may take with it; 'terminated-async': the task,
// submitted before the others, waits until the last of them ends, then
// ignores its runTimeout; 'hung': tasks that print `count` lines each, then
// ignore their runTimeout, one at a time, every other one after an await; 'unhung': as 'hung', all at
// once, each ending as soon as it printed; 'chain': one task with a
// runTimeout writes `count` steps of three lines, each step from the
// callback of the step before's first write; 'flood': one task with a
// runTimeout writes `count` lines of 100 bytes as 'drain' allows), count,
// threads, rounds.
import { deferToThreadPool, reactor, ThreadDiedError, ThreadPool, type ThreadPoolOptions } from 'reactor-threads';
import { fileURLToPath } from 'node:url';
import {
  floodHonoringDrain, printAroundBigThenSpin, printChain, printWithStreamOp, printEncoded, printLine, printLineThenRelease, printThenBlock, printThenSpin, printThenSpinLater, printWide,
  spinWhenReleased,
} from './console-order-tasks.cjs';
import { ignoreAbort, spin } from './tasks.cjs';

const [mode = 'stdout', count = '200', threads = '1', rounds = '1'] = process.argv.slice(2).map(String);
const terminated = mode.startsWith('terminated');
/** Runs `run` on a started pool of `threads` threads (and `options`), then stops the pool. */
async function onPool(options: ThreadPoolOptions, run: (pool: ThreadPool) => Promise<void>): Promise<void> {
  const pool = new ThreadPool({ minThreads: Number(threads), maxThreads: Number(threads), ...options });
  pool.start();
  await run(pool);
  await pool.stop();
}

/** 'hung': `rounds` tasks, one at a time, each printing `count` lines, then past its runTimeout (every other one after an await). */
function hung(options: ThreadPoolOptions): Promise<void> {
  return onPool(options, async (pool) => {
    for (let task = 0; task < Number(rounds); task++) {
      // (Long enough for the lines to be written, the function's module loaded first in each new thread,
      // on a loaded machine or under wine: they are what is checked. 100 ms was not, under wine.)
      await deferToThreadPool.with({ runTimeout: 3_000 })(reactor, pool, task % 2 ? printThenSpinLater : printThenSpin, task, Number(count), 60_000).then(
        () => { throw new Error('the task was not cut short'); },
        (e: Error) => { process.stderr.write(`hung ${task}: ${e.name}\n`); });
    }
  });
}

/** The modes that run tasks of their own, not `count` printing tasks a round. */
const ownTasks: Record<string, () => Promise<void>> = {
  hung: () => hung({ cancelGrace: 50 }),
  // (A preload's line, posted before the thread's counts began: the tasks' writes wait behind a post they cannot end.)
  'hung-preload': () => hung({ cancelGrace: 50, execArgv: ['--require', fileURLToPath(new URL('./print-banner.cjs', import.meta.url))] }),
  // (A preload's patch of write(), below the library's: what the stream holds is prefixed.)
  'hung-prefix': () => hung({ cancelGrace: 50, execArgv: ['--require', fileURLToPath(new URL('./prefix-lines.cjs', import.meta.url))] }),
  'hung-big': () => onPool({ cancelGrace: 50 }, async (pool) => {
    await deferToThreadPool.with({ runTimeout: 3_000 })(reactor, pool, printAroundBigThenSpin, 0, Number(count), 2 << 20, 60_000).then(
      () => { throw new Error('the task was not cut short'); },
      (e: Error) => { process.stderr.write(`hung 0: ${e.name}\n`); });
  }),
  // ('streamop': printWithStreamOp's `threads` way in, past its runTimeout if `rounds` is 1, else ending at once.)
  streamop: () => onPool({ cancelGrace: 50, minThreads: 1, maxThreads: 1 }, async (pool) => {
    const hang = rounds === '1';
    await deferToThreadPool.with({ runTimeout: hang ? 3_000 : 60_000 })(reactor, pool, printWithStreamOp, threads, Number(count), hang ? 60_000 : 0)
      .then(() => { process.stderr.write('streamop: ended\n'); }, (e: Error) => { process.stderr.write(`streamop: ${e.name}\n`); });
  }),
  unhung: () => onPool({}, async (pool) => {
    await Promise.all(Array.from({ length: Number(rounds) }, (_, task) =>
      deferToThreadPool.with({ runTimeout: 60_000 })(reactor, pool, task % 2 ? printThenSpinLater : printThenSpin, task, Number(count), 0)));
    process.stderr.write('unhung: done\n');
  }),
  flood: () => onPool({}, async (pool) => {
    const refused = await deferToThreadPool.with({ runTimeout: 60_000 })(reactor, pool, floodHonoringDrain, Number(count));
    process.stderr.write(`flood: write() returned false ${refused} times\n`);
  }),
  chain: () => onPool({}, async (pool) => {
    await deferToThreadPool.with({ runTimeout: 60_000 })(reactor, pool, printChain, Number(count)).then(
      (steps) => { process.stderr.write(`chain: ${steps}\n`); },
      (e: Error) => { process.stderr.write(`chain: ${e.name} ${e.message}\n`); });
  }),
};
await ownTasks[mode]?.();
for (let round = 0; round < (mode in ownTasks ? 0 : Number(rounds)); round++) {
  const pool = new ThreadPool({ minThreads: Number(threads), maxThreads: Number(threads), ...(terminated && { cancelGrace: 50 }) });
  pool.start();
  const calls: Promise<void>[] = [];
  if (mode === 'terminated-async') {
    // Held by the thread while the tasks below print and end; it spins
    // from the microtasks that follow the last one, before the loop reads
    // the owner's asks for more output.
    const stubborn = deferToThreadPool.with({ runTimeout: 1_000 })(reactor, pool, spinWhenReleased, 60_000);
    calls.push(stubborn.then(() => { throw new Error('the stubborn task was not cut short'); }, (e: Error) => {
      process.stderr.write(`stubborn: ${e.name}\n`);
    }));
  }
  for (let i = round * Number(count); i < (round + 1) * Number(count); i++) {
    const call = mode === 'encoded' ? deferToThreadPool(reactor, pool, printEncoded, i)
      : mode === 'wide' ? deferToThreadPool(reactor, pool, printWide, 'stderr', i)
      : mode === 'blocking' ? (i % 2 ? deferToThreadPool(reactor, pool, printThenBlock, i) : deferToThreadPool(reactor, pool, printLine, 'stdout', i))
      : mode === 'terminated-async' && i === (round + 1) * Number(count) - 1 ? deferToThreadPool(reactor, pool, printLineThenRelease, 'both', i)
      : terminated ? deferToThreadPool(reactor, pool, printLine, 'both', i)
        : deferToThreadPool(reactor, pool, printLine, mode, i);
    calls.push(call.then((v) => { process.stdout.write(`settled ${v}\n`); }));
  }
  if (terminated && mode !== 'terminated-async') {
    if (mode === 'terminated-behind') {
      // (Ended by the thread's termination if it was taken with the task behind it.)
      calls.push(deferToThreadPool(reactor, pool, spin, 300).then(() => {}, (e: unknown) => {
        if (!(e instanceof ThreadDiedError)) throw e;
      }));
    }
    // Queued behind them: it spins, its thread's loop never turns again,
    // and that thread is terminated 50 ms after its runTimeout, or its
    // cancel (cancelGrace).
    const controller = new AbortController();
    const stubborn = mode === 'terminated-signal'
      ? deferToThreadPool.with({ signal: controller.signal })(reactor, pool, ignoreAbort, 60_000)
      : deferToThreadPool.with({ runTimeout: 20 })(reactor, pool, ignoreAbort, 60_000);
    if (mode === 'terminated-signal') {
      // Once it runs: 20 ms after its thread took it (a cancel would
      // withdraw it from the queue, and drop it before it starts).
      const cancelOnceTaken = (): void => {
        if (pool.stats().queued > 0) setTimeout(cancelOnceTaken, 2);
        else setTimeout(() => controller.abort(), 20);
      };
      cancelOnceTaken();
    }
    calls.push(stubborn.then(() => { throw new Error('the stubborn task was not cut short'); }, (e: Error) => {
      process.stderr.write(`stubborn: ${e.name}\n`);
    }));
  }
  await Promise.all(calls);
  await pool.stop();
}
