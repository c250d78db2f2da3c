// Loads the C++ addon and states the types of what it exports. One copy per
// copy of the package: each loads the addon afresh and gets its own
// EnvState and reactor (see load()).
// The native side: native/addon.cc maps which file holds each binding. Tests: every test
// file; scripts/test-install.mjs loads it from the packed prebuild.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PoolCounts, TimeStats } from '../base/public/pool.js';

/**
 * A task a pool thread hands back unstarted (poolRequeue): its id, its
 * function's, its payload, the buffers it moves through native memory,
 * and whether its moved buffers travel by port instead.
 */
export type RequeuedTask = [taskId: number, fnId: number, payload: Uint8Array, transfers: ArrayBuffer[] | undefined,
  movesByPort: boolean];

/** What the addon exports; every function runs on the calling JS thread. */
export interface NativeBinding {
  /**
   * Creates this copy's reactor (inbox + waker), once. The addon holds
   * onWake weakly: the caller must keep it, and its collection retires
   * the reactor.
   */
  /** inboxScratch: where inbox batches are written when they fit (InboxMessage.payload); free again at endBatch(). */
  init(onWake: (batch: Uint8Array | undefined, transfers: ArrayBuffer[] | undefined, work: boolean, deferred?: boolean) => void, isMainThread: boolean,
    inboxScratch?: Uint8Array): number;
  /** This thread's inbox now, as onWake would receive it. */
  drain(): [Uint8Array | undefined, ArrayBuffer[] | undefined, boolean];
  /** Spins up to `spinNs` for a message to reach this thread's inbox; true if one did. */
  awaitMessage(spinNs: number): boolean;
  /** Whether messages wait in this thread's inbox (not drained: the loop delivers them, its wake-up on its way). */
  hasMail(): boolean;
  /** Messages (and bytes) of `sender` this thread holds back behind its loading call: they count toward the inbox's high-water mark for that sender. */
  setHeld(sender: number, messages: number, bytes: number): void;
  /** This thread handled the batch it was handed, by a wake-up or drain(), and reported what it holds back: native/reactor.h EndBatch. */
  endBatch(): void;
  /** Keep this thread's loop alive while work is in flight / let it exit. */
  ref(): void;
  unref(): void;

  /** quickTaskMs: below this mean run time a function's tasks are taken in batches (native/pool.h; default 0.1). */
  poolCreate(min: number, max: number, quickTaskMs?: number): number;
  poolDestroy(poolId: number): void;
  poolDefine(poolId: number, descriptor: Buffer): number;
  poolGetFunction(poolId: number, fnId: number): Buffer | undefined;
  /**
   * -1 when a waiting thread was woken for the task, -2 when the queue is
   * full (not queued), else the demand no starting or spinning thread will
   * meet. `target` marks a task whose buffers move by port; target[0] gets
   * the thread woken or pinned for it (0: none).
   */
  poolPush(poolId: number, taskId: number, fnId: number, payload: Uint8Array, transfers: ArrayBuffer[] | undefined, maxQueue: number,
    affinity?: string, target?: Uint32Array): number;
  /** 1: the task was queued, now removed; threadId + 1: that thread holds it and was told to abort it; 0: neither. */
  /**
   * Queues a batch of `count` tasks (src/pool/staging.ts's layout), as many
   * as fit under maxQueue (accepted[0]; the rest are refused). The demand
   * no thread will meet soon when positive (a woken thread or not), else
   * -1 when a thread was woken, else 0.
   */
  poolPushBatch(poolId: number, batch: Uint8Array, count: number, maxQueue: number, accepted: Uint32Array): number;
  /**
   * The hand-over of buffers a thread asked for by port (native Pool::WantBuffers).
   * op 0 (pool thread): it asks. 1 (owner): claims the ask before sending
   * them; false when no longer wanted. 2 (pool thread): ends the ask; true
   * when the owner had claimed it (they are on their way).
   */
  poolWant(poolId: number, threadId: number, taskId: number, op: 0 | 1 | 2 | 3): boolean;
  /**
   * Signals the thread a poolPush with a target chose, if it was chosen
   * asleep. Called only when the buffers did not go ahead to it: those
   * that did wake it with their message (ThreadPool #submit).
   */
  poolWake(poolId: number, threadId: number): void;
  poolCancel(poolId: number, taskId: number, queuedOnly?: boolean): number;
  /** When a thread took the task (ms, the clock of now()); 0 while queued or once completed. */
  poolTakenAt(poolId: number, taskId: number): number;
  /**
   * Monotonic ms, the clock of poolTakenAt, and the library's clock on
   * every thread: Node's `performance` global loads perf_hooks on its
   * first use, 1.1-1.6 ms here, which a thread's first moved buffer (its
   * wait for them: src/thread/moved-buffers.ts) or a first blocking call
   * paid (bench: payload).
   */
  now(): number;
  poolAddThread(poolId: number): number;
  /**
   * A thread exited: the tasks that died with it, how many it had not
   * started (re-queued), whether it ever attached (false: it died while
   * starting), and its reactor's id (the sender of its messages; 0 if it
   * never attached).
   */
  poolRemoveThread(poolId: number, threadId: number): { died: number[]; requeued: number; attached: boolean; reactor: number };
  /** Whether the thread attached: false while it starts (its preloads and onThreadStart run). */
  poolThreadAttached(poolId: number, threadId: number): boolean;
  /** Whether the thread is gone (its environment, or removed): what it posted has all arrived. True once the pool is gone. */
  poolThreadGone(poolId: number, threadId: number): boolean;
  /** The task went async in its thread (it counts as started if the thread dies). */
  poolTaskStarted(poolId: number, threadId: number, taskId: number): void;
  /** The task this thread starts next waits for its function to load (or, false, runs now). */
  poolTaskLoading(poolId: number, threadId: number, taskId: number, loading: boolean): void;
  /** Removes every queued task; their ids. */
  poolClearQueue(poolId: number): number[];
  poolAttach(poolId: number, threadId: number): void;
  /** This environment is that pool thread: its teardown tells the pool it is gone (before the owner sees its exit). */
  poolThreadStarting(poolId: number, threadId: number): void;
  /** How many of its threads are gone, their exits not seen yet by the owner. */
  poolGoneThreads(poolId: number): number;
  /**
   * A task batch (with its moved ArrayBuffers), 0 = none (now waiting), 1 = stopping, 2 = surplus: exit,
   * 3 = none: queued work left to a sibling about to take (waiting as for 0; look again soon).
   * answeredBlocking: this thread's last task answered a blockingCallInThread (native Pool::LeaveOwnerCpu).
   * A batch that fits in `scratch` is written there, and is a view of it: valid until the next take with it.
   */
  poolTake(poolId: number, threadId: number, max: number, spinNs: number, paysWithinNs: number,
    answeredBlocking: boolean, scratch?: Uint8Array): Uint8Array | [Uint8Array, ArrayBuffer[]] | 0 | 1 | 2 | 3;
  /**
   * A task ended. With holdResult the pool keeps its result (the task
   * counts as finished) until poolReleaseResult. With quiet the owner is
   * not woken: the thread wakes it by port (a result whose buffers follow).
   */
  poolComplete(poolId: number, threadId: number, taskId: number, status: number, payload: Uint8Array,
    transfers?: ArrayBuffer[], holdResult?: boolean, quiet?: boolean): boolean;
  /**
   * A blockingCallInThread task ended: its end (`status`, no bytes) goes to
   * the pool as poolComplete's does, then its outcome to the caller's reply
   * slot `callId`, in one call. False when the caller already left.
   */
  poolAnswer(poolId: number, threadId: number, taskId: number, status: number, callId: number, replyStatus: number,
    payload: Uint8Array, transfers: ArrayBuffer[] | undefined, holdResult: boolean): boolean;
  /** Posts a result that poolComplete or poolAnswer held. */
  poolReleaseResult(poolId: number, threadId: number, taskId: number): boolean;
  /**
   * A call (bridgePost's arguments) this pool thread makes while results
   * of its are held: the pool keeps it in order with them, and posts it
   * with them if the thread is terminated first. False: nothing was kept
   * (the pool or the thread's record is gone), post it now.
   */
  poolHoldPost(poolId: number, threadId: number, target: number, refKind: number, ref: number, payload: Uint8Array,
    transfers: ArrayBuffer[] | undefined, mayWait: boolean): boolean;
  /** Posts the oldest call poolHoldPost kept: false when none was, or its reactor is gone. */
  poolReleasePost(poolId: number, threadId: number): boolean;
  poolTryRetire(poolId: number, threadId: number): boolean;
  /** This thread exits once its tasks in flight are done: it takes no more. */
  poolRecycle(poolId: number, threadId: number): void;
  /** This thread took the last task its maxTasksPerThread allows: no new affinity key binds to it. */
  poolBudgetSpent(poolId: number, threadId: number): void;
  /** This thread goes back to its loop before taking more: until then, a push counts on a sibling. */
  poolStepAway(poolId: number, threadId: number): void;
  /**
   * Gives back the tasks this thread took but has not started, in take
   * order (to the front of the queue, in that order); unless it is about
   * to park, those pinned to it go back to the front of its own.
   */
  poolRequeue(poolId: number, threadId: number, tasks: RequeuedTask[], parking: boolean): void;
  /**
   * Whether this thread may hand back the unstarted rest of a batch that
   * runs long, and to whom (native Pool::MayHandBack): 0 not while the
   * pool stops, once the thread retires or recycles, or once the pool is
   * gone; 2 to itself, when that rest is pinned to it (affinity); 1 to
   * its siblings.
   */
  poolMayHandBack(poolId: number, threadId: number): 0 | 1 | 2;
  poolStop(poolId: number, drain: boolean): number[];
  poolSetBounds(poolId: number, min: number, max: number): void;
  poolCounts(poolId: number): PoolCounts;
  poolTimes(poolId: number): { queueWait: TimeStats; run: TimeStats };
  /** How many of the pool's threads wait in blocking calls (with forMs: in one call begun at least forMs ago). */
  poolParkedThreads(poolId: number, forMs?: number): number;
  /** Ends the pool's threads' blocking calls with `status` (a CallStatus). */
  poolWakeParked(poolId: number, status: number): void;

  /** The main thread's reactor id, 0 if the main thread never loaded the package. */
  mainReactor(): number;
  internFunction(descriptor: Buffer): number;
  internedFunction(id: number): Buffer | undefined;
  /** callFromThread: false when the target reactor is gone. */
  bridgePost(target: number, refKind: number, ref: number, payload: Uint8Array, transfers: ArrayBuffer[] | undefined, mayWait: boolean): boolean;
  /**
   * blockingCallFromThread: parks until answered: [CallStatus, reply,
   * replyTransfers?], or a bare CallStatus when not answered. An answer
   * that fits in `replyScratch` after its u32 length, and moves no
   * buffer, is written there, and its status (Fulfilled, Rejected) comes
   * bare.
   */
  bridgeCall(target: number, refKind: number, ref: number, payload: Uint8Array, transfers: ArrayBuffer[] | undefined,
    timeoutMs: number, poolId: number, threadId: number, replyScratch?: Uint8Array, onAttention?: () => void):
    [number, Buffer, ArrayBuffer[] | undefined] | number;
  /**
   * Something was posted to the side port of reactor `reactorId`'s thread
   * that it must read even while it waits in a blocking call: its
   * bridgeCall runs onAttention, its bridgeAwaitTask returns Attention.
   */
  bridgeAttend(reactorId: number): void;
  /** Answers a blocking call; false when its caller already left. */
  bridgeReply(callId: number, status: number, payload: Uint8Array, transfers?: ArrayBuffer[]): boolean;
  /** blockingCallInThread: opens a reply slot with no target yet; its id (0: the process is exiting). */
  bridgeOpenWait(): number;
  /** Closes a call of bridgeOpenWait's whose task could not be queued. */
  bridgeCloseWait(callId: number): void;
  /** A pool thread starts the task of call `callId`: it answers it now; false when the caller left. */
  bridgeAdopt(callId: number): boolean;
  /**
   * blockingCallInThread: parks on call `callId` until the thread that runs task `taskId` of pool
   * `poolId` answers (as bridgeCall, `replyScratch` included), or the wait ends unanswered (a bare CallStatus). Closes the call.
   */
  bridgeAwaitTask(callId: number, poolId: number, taskId: number, timeoutMs: number, ownPoolId: number, ownThreadId: number,
    replyScratch: Uint8Array): [number, Buffer, ArrayBuffer[] | undefined] | number;
  /** Blocking calls listed now (tests): of any thread, or (ofThisThread) those this thread opened. */
  bridgeOpenCalls(ofThisThread?: boolean): number;
  /**
   * Moves in this process (tests) of a waiting thread off the CPU of the one it waits for:
   * [pool threads after answering a blockingCallInThread, blockingCallFromThread callers].
   */
  cpuMoves(): [number, number];
  /** The process is exiting: wake every parked caller, refuse new calls. */
  bridgeShutdown(): void;
}

// The package root: dist/reactor/ -> the folder holding prebuilds/ and build/.
const root = join(__dirname, '..', '..');

/**
 * Where the addon may be, best first: a prebuilt N-API binary for this
 * platform and architecture (what users install, with no compiler), then
 * a local node-gyp build (the fallback, and what developers build).
 * REACTOR_THREADS_ADDON names one file instead (tests of other builds).
 */
function addonCandidates(): string[] {
  // An explicit build (a sanitizer build, say) wins: REACTOR_THREADS_ADDON=<path to .node>.
  const forced = process.env.REACTOR_THREADS_ADDON;
  if (forced) return [forced];
  const out: string[] = [];
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      // prebuildify names N-API builds <name>.napi.node, or <name>.node.
      if (f.endsWith('.node') && !f.includes('.abi')) out.push(join(dir, f));
    }
  }
  // No prebuild for this platform: still listed (as absent) in the error,
  // since it is where a user looks first.
  if (out.length === 0) out.push(join(dir, '*.node'));
  out.push(join(root, 'build', 'Release', 'reactor_threads.node'));
  out.push(join(root, 'build', 'Debug', 'reactor_threads.node'));
  return out;
}

function load(): NativeBinding {
  const candidates = addonCandidates();
  const tried: string[] = [];
  for (const file of candidates) {
    if (!existsSync(file)) {
      tried.push(`${file} (absent)`);
      continue;
    }
    try {
      // Not require(): its cache would hand a second copy of the package in
      // this thread the first copy's addon instance, whose reactor is the
      // first copy's (init() twice). Jest runs each test file with its own
      // copy of the package in the same thread. A fresh dlopen of the same
      // file gets a new napi_env, so a new EnvState, while the library and
      // its process-wide Registry stay one (native/env_state.h).
      const module = { exports: {} as NativeBinding };
      process.dlopen(module, file);
      return module.exports;
    } catch (e) {
      // (Windows ends its loader's messages with \r\n.)
      tried.push(`${file} (${(e as Error).message.split(/\r?\n/)[0]!.trim()})`);
    }
  }
  throw new Error(`reactor-threads: no native addon for ${process.platform}-${process.arch} `
    + `(Node ${process.version}, N-API ${process.versions.napi}). Looked for:\n  ${tried.join('\n  ')}\n`
    + 'Install from a registry that has the prebuilt binaries, or build from source with a C++ '
    + 'toolchain: `npm rebuild reactor-threads --build-from-source` (node-gyp; without the flag, a prebuild that loads in npm\'s Node is kept).');
}

export const native: NativeBinding = load();

const exitHook = Symbol.for('reactor-threads.bridge-exit-hook.v1');

/**
 * Parked callers must never outlive the process: neither process.exit()
 * nor a natural exit joins Workers that wait in native code. One hook per
 * process, whichever copy of the package comes first (the bridge is
 * process-wide). Defined here, where the closure holds nothing but the
 * addon: a hook made beside a copy's runtime would keep that copy alive.
 */
export function shutDownBridgeAtExit(): void {
  const p = process as unknown as Record<symbol, true | undefined>;
  if (p[exitHook]) return;
  Object.defineProperty(process, exitHook, { value: true });
  process.on('exit', () => native.bridgeShutdown());
}
