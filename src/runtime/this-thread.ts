// Each thread's runtime, built once and in one place: its reactor core,
// its callables, how its values cross, and both sides of its bridge, each
// given its collaborators here. The package's entry (index.ts) builds it
// on import, so a main thread that loaded the package serves its Workers.
// A pool thread's entry (worker.ts) then gives it the thread's pool role
// (attachPoolRole): the runtime may have been built before, by a
// --require or --import preload of the application's that loads the
// package, which a Worker runs before its entry. Until then the thread's
// runtime is a plain Worker's. Other modules do no work when imported and
// reach it through thisThread(). Owning thread only. Tests: every test
// file; test/runtime-build.ts (a build that fails); test/preloads.ts (a
// preload that loads the package).
import { isMainThread } from 'node:worker_threads';
import { BridgeCaller, type PoolThreadCalls } from '../bridge/caller.js';
import { CallServer } from '../bridge/server.js';
import { CallableTable } from '../codec/callables.js';
import type { ValueContext } from '../codec/codec.js';
import { native, shutDownBridgeAtExit } from '../reactor/native.js';
import { ReactorCore } from '../reactor/core.js';
import { reviveInbound } from '../codec/values.js';
import type { CurrentTask } from '../base/public/calls.js';

/** What a pool thread brings to its runtime (src/thread/worker.ts). */
export interface PoolThreadRole extends PoolThreadCalls {
  /** The reactor that owns its pool: the one its calls go to. */
  readonly owner: number;
  /** The pool has work for it (or is stopping). */
  takeWork(): void;
  /** Its owner asks it to abort a task it holds. */
  cancelTask(taskId: number): void;
  /** The task whose synchronous part runs now, if any. */
  currentTask(): CurrentTask | undefined;
  /** Runs `f` synchronously as a part of task `taskId` (TaskRunner.within). */
  withinTask<T>(taskId: number, f: () => T): T;
}

export interface ThreadRuntime {
  readonly core: ReactorCore;
  readonly callables: CallableTable;
  readonly values: ValueContext;
  readonly caller: BridgeCaller;
  readonly server: CallServer;
  /** The reactor this thread's calls go to: itself, its pool's owner, or the main thread (0: none yet). */
  servedReactor(): number;
  /** Set in a pool thread, once its entry attached its role. */
  readonly poolThread: PoolThreadRole | undefined;
}

/** The runtime's own view: its pool role is written once, by attachPoolRole. */
type BuiltRuntime = { -readonly [K in keyof ThreadRuntime]: ThreadRuntime[K] };

let runtime: BuiltRuntime | undefined;
/**
 * Why this thread's runtime could not be built, once its reactor was made
 * (native makes one per thread, once: a second try would only say "init()
 * called twice"). A module whose body threw runs again when it is next
 * required (esbuild's bundle does as Node does), so the package's next
 * import in this thread asks again: it gets this failure.
 */
let failedBuild: Error | undefined;

/** Builds this thread's runtime; once. */
function buildThread(): BuiltRuntime {
  if (failedBuild) throw failedBuild;
  // The server exists before any call can arrive: a wake-up runs only
  // once this function has returned to the event loop.
  let server: CallServer | undefined;
  let caller: BridgeCaller | undefined;
  // (A pool thread's work signals and cancels reach its event loop only
  // after its entry's body, which attaches its role, has run.)
  const core = new ReactorCore({
    serveCall: (m) => server!.serve(m),
    pendingAnswers: () => server!.pendingAnswers,
    takeWork: () => runtime?.poolThread?.takeWork(),
    cancelTask: (id: number) => runtime?.poolThread?.cancelTask(id),
  }, isMainThread);
  try {
    const callables = new CallableTable(core.id);
    const values: ValueContext = {
      callables,
      revive: (value, buffers) => reviveInbound(value, (target) => caller!.makeProxy(target), buffers),
    };
    const servedReactor = isMainThread ? (): number => core.id
      : (): number => runtime?.poolThread?.owner ?? native.mainReactor();
    caller = new BridgeCaller(core.id, servedReactor, values);
    server = new CallServer(values, (late) => core.answered(late));
    if (isMainThread) shutDownBridgeAtExit();
    runtime = { core, callables, values, caller, server, servedReactor, poolThread: undefined };
    return runtime;
  } catch (e) {
    failedBuild = new Error(`reactor-threads: this thread's runtime could not be built (${e instanceof Error ? e.message : String(e)}), `
      + 'and is not built twice', { cause: e });
    throw e;
  }
}

/**
 * Makes this thread's runtime a pool thread's: its calls go to the pool's
 * owner (BridgeCaller.becomePoolThread), its reactor hands the role its
 * work signals and cancels. Once, by the pool thread's entry.
 */
export function attachPoolRole(role: PoolThreadRole): ThreadRuntime {
  const built = runtime ?? buildThread();
  if (built.poolThread) throw new Error('reactor-threads: this thread already has its pool role');
  built.caller.becomePoolThread(role);
  built.poolThread = role;
  return built;
}

/** This thread's runtime. */
export function thisThread(): ThreadRuntime {
  return runtime ?? buildThread();
}
