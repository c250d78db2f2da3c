// The pool-thread entry: each pool thread is a Worker running this file.
// It builds the thread's runtime, then takes task batches from its pool's
// native queue and hands them to its task runner (src/thread/task-runner.ts),
// whose results go straight to the owner's native inbox. Between batches
// it waits in its own event loop (never in Atomics.wait), so its timers
// and async tasks keep running. This file owns the thread's lifecycle:
// pulling work, idling, retiring, recycling, its hooks and its exit.
// Pool thread only. Tests: test/threadpool-*.ts, test/thread-lifecycle.ts.
import { workerData } from 'node:worker_threads';
import { inspect } from 'node:util';
import { native } from '../reactor/native.js';
import { isPoolThreadData } from '../base/pool-thread-data.js';
import { PoolThreadOutbox } from './outbox.js';
import { TaskRunner } from './task-runner.js';
import { ThreadMovedBuffers } from './moved-buffers.js';
import { attachPoolRole } from '../runtime/this-thread.js';
import { PortMove, readTasks, type PortMoveMessage } from '../base/wire.js';
import { importURL } from '../identity/specifiers.js';
import { realClearTimeout, realSetImmediate, realSetTimeout } from '../base/real-timers.js';

if (!isPoolThreadData(workerData)) throw new Error('reactor-threads: worker.js is started by a ThreadPool only');
const {
  poolId, owner, threadId, concurrency, idleTimeout, spinNs, threadName, startHook, exitHook, maxTasks, maxHeap,
  flattenInstances, movesPort, preloads,
} = workerData;

// Before anything that may fail (preloads, onThreadStart): this thread's
// end, however it comes, now tells the pool it is gone, which an owner
// parked in blockingCallInThread cannot learn from the Worker's exit.
native.poolThreadStarting(poolId, threadId);
if (!movesPort) throw new Error('reactor-threads: a pool thread is started with its side port');
/** After a post on the side port: an owner parked in a blockingCallInThread reads its port now. */
const postedToOwner = (): void => { native.poolWant(poolId, threadId, 0, 3); };
const outbox = new PoolThreadOutbox(poolId, threadId, movesPort, postedToOwner);
// A task's process.exit() sends the calls and results that wait for its
// output to reach the owner now, rather than when the pool removes this
// thread (native posts what is still held then, in order, as for a thread
// that was terminated).
process.on('exit', () => outbox.flushNow());
/** A pull() queued after a blocking call (afterPark), until it runs. */
let pullSoon: NodeJS.Immediate | undefined;
/**
 * This thread's runtime (built here, or already by a preload of the
 * application's that loaded the package), made a pool thread's before
 * native hands it any work: its calls go to the pool's owner (non-blocking ones behind its results; a blocking
 * one flushes them first), its reactor hands it the
 * pool's work signals and cancels, and before it parks in a blocking call
 * it hands back the tasks it has not started.
 */
const thread = attachPoolRole({
  owner, poolId, threadId, flattenInstances,
  takeWork: () => pull(),
  cancelTask: (taskId) => runner.cancel(taskId),
  // What it sent before the call leaves first; then its untaken tasks go
  // back, with the buffers that came for them (its port is read now: it
  // is not read while it is parked), and so do buffers that came ahead
  // for tasks it never took.
  beforePark: (callsOwner) => {
    outbox.flushBeforePark(() => moves.drain(), runner.answering, callsOwner);
    moves?.drain();
    runner.handBack(true);
    moves?.returnAll();
  },
  // Parked, it is asked for buffers sent ahead to it after it read its
  // port (a sibling took their task): they go back now, or the sibling
  // would wait until this call returns, and this call may wait on that
  // sibling (through an owner parked in a blockingCallInThread).
  whileParked: () => {
    moves.drain();
    moves.returnAll();
  },
  // It left the waiting list while parked: look for work once the current
  // task is done. Once, however many calls the task makes (a task making
  // 10,000 calls in a loop queued 10,000 Immediates, one per call).
  afterPark: () => {
    if (pullSoon) return;
    pullSoon = realSetImmediate(() => { pullSoon = undefined; pull(); });
  },
  postCall: (target, refKind, ref, bytes, transfers, mayWait, refused) =>
    outbox.postCall(target, refKind, ref, bytes, transfers, mayWait, refused),
  currentTask: () => runner.current(),
  withinTask: (taskId, f) => runner.within(taskId, f),
});
/**
 * Large moved buffers of its tasks and results travel on its side port,
 * and the owner's answers about its console output come on it.
 */
const moves = new ThreadMovedBuffers(movesPort, thread.core.id, {
  ask: (taskId) => { native.poolWant(poolId, threadId, taskId, 0); },
  end: (taskId) => native.poolWant(poolId, threadId, taskId, 2),
  posted: postedToOwner,
  seen: (stdout, stderr) => outbox.seen(stdout, stderr),
// (Buffers sent ahead came: the owner chose this thread for their task,
// and their message is its wake-up. pull() takes nothing while a
// function loads, the thread is full, or stops; it steps away for mail.)
}, () => pull());
const runner = new TaskRunner({
  poolId, threadId, threadName, values: thread.values, flattenInstances, outbox, moves,
  onSettled: countCompleted,
  onRoom: () => pull(),
  hasMail: () => thread.core.hasMail(),
});

let stopping = false;
/** Set once this thread decided to exit: it takes no more work. */
let exiting = false;
/** Set when the pool no longer wants this thread (surplus, recycled): it exits once idle. */
let retiring = false;
let exitHookRan = false;
let idleTimer: NodeJS.Timeout | undefined;
/** A look at the queue again, after work was left to a sibling (poolTake's 3). */
let recheck: NodeJS.Timeout | undefined;
/**
 * How soon: past native's 1 ms after which a sibling whose loop runs a
 * callback no longer counts as about to take (Pool::WakesSoon).
 */
const LEFT_RECHECK_MS = 2;
/**
 * How long a thread that just answered a blockingCallInThread spins for
 * the next task (spinNs otherwise). A thread blocked on this pool tends to
 * call again as soon as it has its answer; when this thread's spin ran out
 * first, the next call had to wake it through its loop, the caller parked
 * meanwhile, and the answer then had to wake the caller: each side's
 * wake-up made the other's spin run out, for runs of calls at 100-200 µs.
 * bench/sync.mjs's p99 (20,000 calls of x + 1, medians of 5 runs here):
 * 130 µs with a spin of 20 µs, 91 with 300 µs, 80 with 1 ms.
 * While V8 compiles the calling code (the bench's first ~20,000 calls),
 * a compiler thread preempts the caller for ~0.6 ms (one scheduler slice
 * on 2 cores) every few ms: a 250 µs spin had run out by the time the
 * caller pushed again, so the next call woke this thread through its
 * loop and was slow too (27-31% of the calls over 150 µs came right
 * after another). 600 µs outlasts the slice.
 * Native skips a spin that has not been paying (a caller that works
 * between its calls, a lint rule's file after file): Pool::SpinPaysLocked.
 * This one pays only for calls within AFTER_ANSWER_PAYS_WITHIN_NS, so that
 * a caller paced at 250-600 µs does not keep this thread spinning between
 * its calls (it would burn most of a core).
 * Such a take first moves this thread off its caller's core if it shares
 * it (native Pool::LeaveOwnerCpu): the two took turns on one core for
 * hundreds of calls after V8's compiler had used the other.
 */
const AFTER_ANSWER_SPIN_NS = 600_000;
const AFTER_ANSWER_PAYS_WITHIN_NS = 250_000;
/** Batches run since this thread last returned to its loop. */
let rounds = 0;
/**
 * Where native writes the batches this thread takes, when they fit: one
 * ArrayBuffer for the thread's life rather than a new one per take, which
 * would cost a V8 background sweep of its memory after the scavenge that
 * finds it dead (native/batch.h Scratch). A batch written here lives until
 * the next take (TaskMessage.payload).
 */
const takeScratch = new Uint8Array(64 * 1024);
const MAX_ROUNDS = 64;
/**
 * How often, at most, mail in this thread's inbox sends it back to its
 * loop between batches (pull()): a thread that owns a pool of its own gets
 * that pool's results as mail, and stepping away for each of them ran its
 * own queue of quick tasks at 0.4x the speed (helper-107's review).
 */
const MAIL_EVERY_MS = 1;
/** When this thread last stepped back to its loop from pull() (performance.now()). */
let steppedAt = 0;
/** Consecutive steps away while mail waited undelivered (pull()). */
let mailSteps = 0;
/**
 * How many turns of its loop in a row a thread gives mail that waits
 * before it takes work all the same: the mail is read within two (see
 * pull()); a stream of it (a pool of its own sending results) must not
 * keep the thread from its queue.
 */
const MAX_MAIL_STEPS = 4;
/**
 * Back to the loop (its timers, I/O and inbox) before the next batch:
 * pull() runs again from an Immediate. Native hears of each step: a task
 * that ended meanwhile set the thread as coming back for work, and pushes
 * would count on it while its loop turns (helper-119's review).
 */
function stepAway(): void {
  mailSteps++;
  native.poolStepAway(poolId, threadId);
  steppedAt = performance.now();
  realSetImmediate(pull);
}

/** Takes and runs tasks until the queue is empty or this thread is full. */
function pull(): void {
  if (exiting) return;
  if (idleTimer) { realClearTimeout(idleTimer); idleTimer = undefined; }
  if (recheck) { realClearTimeout(recheck); recheck = undefined; }
  // Mail first, as after a batch taken below: pull() also comes after tasks
  // that ran outside this loop (a batch that waited behind its function's
  // load ran when the load ended, TaskRunner #stopAwaiting; an async task
  // that settled), and after a step away for mail (below) whose Immediate
  // ran before the loop's poll phase had delivered that mail (a wake-up that
  // came while a sync task ran is read only in the loop's next turn, after
  // this turn's Immediates). Taking the next batch then kept a cancel of a
  // task this thread holds from it behind one sync task after another, past
  // cancelGrace: the pool ended the thread, with the sync task running
  // then, for a signal the cancelled task never got. So while mail waits
  // after such a step, the thread steps away again (a few turns at most).
  if (thread.core.hasMail() && (mailSteps > 0 ? mailSteps < MAX_MAIL_STEPS : performance.now() - steppedAt >= MAIL_EVERY_MS)) {
    stepAway();
    return;
  }
  mailSteps = 0;
  // Native takes fewer than the room when tasks should be spread: a task
  // of a slow function, or of one that never ran, is taken alone. And
  // while a function loads, nothing more is taken: what would wait
  // behind the load is left to the siblings (the load's end pulls again).
  // (runner.holding read once a round: a getter of two sets' sizes, on every take's path.)
  for (let holding = runner.holding; !stopping && holding < concurrency && !runner.loading; holding = runner.holding) {
    const answeredLast = runner.answeredLast;
    // (spinNs is 0 where a spin cannot pay: one CPU. So is the longer one.)
    const spin = holding > 0 || spinNs === 0 ? 0 : answeredLast ? AFTER_ANSWER_SPIN_NS : spinNs;
    const paysWithin = spin === AFTER_ANSWER_SPIN_NS ? AFTER_ANSWER_PAYS_WITHIN_NS : spin;
    // maxTasksPerThread bounds what it takes, not only what it finished:
    // a burst took up to `concurrency` more (helper-135: 9 tasks for 2).
    const room = maxTasks > 0 ? Math.min(concurrency - holding, maxTasks - completedTasks - holding) : concurrency - holding;
    if (room <= 0) break;
    const r = native.poolTake(poolId, threadId, room, spin, paysWithin, answeredLast, takeScratch);
    if (r === 0) {
      rounds = 0;
      // (poolTake ran no code of this thread's: holding is as it was.)
      if (holding === 0) armIdleTimer();
      return;
    }
    if (r === 3) {
      // Left to a sibling about to take (this thread's async tasks in
      // flight count as its work: native FairShareLocked). It waits as for
      // 0, and looks again shortly, should that sibling have turned busy
      // before it took (a continuation that computes, or waits on that
      // very work): then it takes the work itself (helper-158).
      rounds = 0;
      recheck ??= realSetTimeout(() => { recheck = undefined; pull(); }, LEFT_RECHECK_MS);
      return;
    }
    if (r === 1) { stopping = true; break; }
    if (r === 2) { retiring = true; break; }
    runner.take(Array.isArray(r) ? readTasks(r[0], r[1]) : readTasks(r, undefined));
    if (maxTasks > 0 && !budgetSpent && completedTasks + runner.holding >= maxTasks) spendBudget();
    // Every MAX_ROUNDS batches, as soon as mail waits (at most once a
    // MAIL_EVERY_MS), and after each batch while a task it holds answers
    // a cancel, this thread's loop runs before the next batch: its own
    // timers and I/O, and its inbox. A cancel of a task it holds is mail:
    // a signal aborts only when the loop delivers it, and the task it
    // stops ends only once its microtasks, timers or I/O run. Batch after
    // batch of queued sync tasks sharing the thread kept that from
    // happening past cancelGrace, and the pool then ended the thread,
    // with the sync task running beside it (helper-105's chaos run,
    // helper-107's review; test/cancellation.ts). The loop's turn may take
    // any time (a task's timer that computes for 700 ms): meanwhile this
    // thread is not counted on to take what is queued, and a push wakes a
    // sibling instead.
    if (++rounds >= MAX_ROUNDS || runner.aborting
      || (performance.now() - steppedAt >= MAIL_EVERY_MS && thread.core.hasMail())) {
      rounds = 0;
      stepAway();
      return;
    }
  }
  if ((stopping || retiring) && runner.holding === 0) exitThread();
}

function armIdleTimer(): void {
  if (!Number.isFinite(idleTimeout)) return;
  idleTimer = realSetTimeout(() => {
    idleTimer = undefined;
    if (native.poolTryRetire(poolId, threadId)) exitThread();
    // Refused (the pool is at its min, for now): ask again later, since
    // adjustPoolsize may lower the min while this thread idles.
    else armIdleTimer();
  }, idleTimeout);
  idleTimer.unref();
}

/** Tasks this thread completed, for maxTasksPerThread and the heap check. */
let completedTasks = 0;
/** Whether it took the last task maxTasksPerThread allows. */
let budgetSpent = false;
/**
 * Its whole budget taken: native binds no new affinity key to it, whose
 * calls would wait behind its last tasks while a sibling had room
 * (helper-140's review). It still counts as serving until it recycles,
 * as its last task ends (countCompleted): retiring it here started its
 * replacement beside it, and moved buffers sent ahead to it (290769c).
 */
function spendBudget(): void {
  budgetSpent = true;
  native.poolBudgetSpent(poolId, threadId);
}
function countCompleted(): void {
  completedTasks++;
  if (retiring) return;
  const tooMany = maxTasks > 0 && completedTasks >= maxTasks;
  const tooBig = maxHeap > 0 && completedTasks % 64 === 0 && process.memoryUsage().heapUsed > maxHeap;
  if (tooMany || tooBig) {
    retiring = true;
    // Takes nothing more (but for what it hands back once the pool stops: Pool::Take); exits once idle.
    native.poolRecycle(poolId, threadId);
  }
}

/** What the lifecycle hooks are given. */
const threadInfo = { threadId, pool: threadName.slice(0, threadName.lastIndexOf('#')) };

async function runHook(fnId: number): Promise<void> {
  const hook = await runner.fn(fnId);
  await hook(threadInfo);
}

function exitThread(): void {
  exiting = true;
  if (exitHook && !exitHookRan) {
    exitHookRan = true;
    // The owner counts it out of max now, and bounds the hook once stop()
    // is called (src/pool/threads.ts, exitHookBegan).
    tellOwnerOfExitHook(0);
    runHook(exitHook).catch((e: unknown) => {
      process.stderr.write(`reactor-threads: onThreadExit failed in ${threadName}:\n${inspect(e)}\n`);
    }).finally(() => {
      tellOwnerOfExitHook(1);
      exitThread();
    });
    return;
  }
  // Ends this thread only, once its results are in the owner's inbox, and
  // buffers sent ahead for tasks it never took are back with the owner.
  outbox.whenSent(() => {
    // (What came on the port and was not read yet goes back too.)
    moves?.drain();
    moves?.returnAll();
    process.exit(0);
  });
}

/** Says on the side port that this thread's onThreadExit began (0) or settled (1). */
function tellOwnerOfExitHook(stage: 0 | 1): void {
  const message: PortMoveMessage = [PortMove.ExitHook, stage];
  movesPort!.postMessage(message);  // (checked as the thread began)
  // An owner parked in a blockingCallInThread reads it now: it may be
  // waiting for the replacement this thread's hook makes room for.
  postedToOwner();
}

/** The pool's preloads, then the hooks this thread registers itself (src/pool/preloads.ts). */
async function preload(): Promise<void> {
  for (const { url, register } of preloads) {
    try {
      const m = await importURL(url);
      if (register) (m.register as () => unknown)();
    } catch (e) {
      // Not attached yet: the pool counts it as a thread that died while starting.
      process.stderr.write(`reactor-threads: cannot preload ${url} in ${threadName}:\n${inspect(e)}\n`);
      process.exit(1);
    }
  }
}

async function start(): Promise<void> {
  await preload();
  if (startHook) {
    try {
      await runHook(startHook);
    } catch (e) {
      // Not attached yet: the pool counts it as a thread that died while starting.
      process.stderr.write(`reactor-threads: onThreadStart failed in ${threadName}:\n${inspect(e)}\n`);
      process.exit(1);
    }
  }
  native.poolAttach(poolId, threadId);
  pull();
}

// This thread lives to serve its pool: keep its loop alive until it exits.
thread.core.hold();
void start();
