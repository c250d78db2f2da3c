// Puts a blocking call's two threads on one CPU, then lets them have the
// others back while calls go on, and counts the waiting thread's moves
// off that CPU (native.cpuMoves; test/cpu-moves.ts). argv[2]:
//   'in'   blockingCallInThread from this main thread: the pool thread
//          that answers moves off its caller's CPU (worker.ts passes
//          answeredLast to poolTake, native Pool::LeaveOwnerCpu);
//   'from' blockingCallFromThread from a pool thread to this reactor: the
//          caller moves off the CPU the reactor answered on (bridgeReply's
//          NoteAnswered, bridgeCall's LeaveCpuOfAnswerer).
// While every thread of the process may run on one CPU only (taskset -a),
// they share it and nothing moves (MoveOffCpu needs two); a `taskset`
// started before the calls gives them every CPU back some 50 ms later, as
// they take turns on the one: the next calls find the two on one CPU with
// another free, which is what the moves are for. Up to 10 tries; prints
// `moves <pool threads'> <callers'> tries <n>`. Linux, with `taskset`.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { blockingCallInThread, deferToThreadPool, reactor, ThreadPool } from 'reactor-threads';
import { native } from '../../dist/reactor/native.js';
import { callsUntilMoved } from './cpu-moves-calls.cjs';
import { callsAnswered, now } from './late-answers.cjs';

const mode = process.argv[2];
const which = mode === 'in' ? 0 : 1;
const allowed = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
const first = allowed.split(/[,-]/)[0];
const setAll = (cpus: string): void => { execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' }); };

const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
pool.start();
const inPool = blockingCallInThread.with({ pool });
await deferToThreadPool(reactor, pool, callsAnswered, false, 200);  // started, warm
for (let i = 0; i < 200; i++) inPool(now, i);

let tries = 0;
try {
  while (native.cpuMoves()[which] === 0 && tries < 10) {
    tries++;
    setAll(first);
    spawn('sh', ['-c', `sleep 0.05; taskset -a -p -c ${allowed} ${process.pid}`], { stdio: 'ignore' });
    // Calls until a move, or 2 s: they must outlast the sleep.
    if (mode === 'in') {
      const until = performance.now() + 2_000;
      for (let i = 0; native.cpuMoves()[0] === 0 && performance.now() < until; i++) {
        if (inPool(now, i) !== i + 1) throw new Error('a wrong answer');
      }
    } else {
      await deferToThreadPool(reactor, pool, callsUntilMoved, 2_000);
    }
    // (The restoring taskset has run by now, or runs in a moment: wait for it.)
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
} finally {
  setAll(allowed);
}
await pool.stop();
const [poolMoves, callerMoves] = native.cpuMoves();
process.stdout.write(`moves ${poolMoves} ${callerMoves} tries ${tries}\n`);
