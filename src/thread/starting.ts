// Preloaded with --require ahead of the execArgv a ThreadPool was given
// (src/pool/collaborators.ts startWorker): the thread tells the pool that
// it is starting before a preload of the user's can end it, so its death,
// however early, marks it gone (Pool::MarkGone at this environment's
// teardown) and wakes an owner parked in blockingCallInThread, which sees
// no Worker 'exit'. worker.ts says it again, for threads started without
// execArgv: they run the parent's preloads, which ran in the parent.
// Pool thread only. Test: test/blocking-call-in-thread.ts.
import { realpathSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { native } from '../reactor/native.js';
import { isPoolThreadData } from '../base/pool-thread-data.js';

if (isPoolThreadData(workerData)) native.poolThreadStarting(workerData.poolId, workerData.threadId);

// The thread's process.execArgv is what the pool was given, as the user
// wrote it: this preload is the library's own, and a child process forked
// from the thread (which inherits process.execArgv) must not load it.
// Test: test/preloads.ts.
// startWorker puts it first. Compared by real path: with --preserve-symlinks
// on the command line (which a Worker given execArgv does not inherit) and the package behind a symlink
// (pnpm), the owner names it by the link's path while this thread, given
// execArgv without that flag, loaded it by its real path.
function samePath(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  if (a === b) return true;
  try { return realpathSync(a) === realpathSync(b); } catch { return false; }
}
if (process.execArgv[0] === '--require' && samePath(process.execArgv[1], __filename)) process.execArgv.splice(0, 2);
