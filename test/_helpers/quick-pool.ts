// A ThreadPool whose native scheduler counts a function as quick (and takes
// its queued tasks in batches) below `quickTaskMs` of mean run time, not
// the default 0.1 ms: a test whose premise is a batch cannot rely on a
// trivial task measuring under 0.1 ms on a loaded machine or under ASan.
// The class takes it through its internal second argument
// (src/pool/collaborators.ts), which its public type leaves out.
import { ThreadPool, type ThreadPoolOptions } from 'reactor-threads';

type WithCollaborators = new (options: ThreadPoolOptions, collaborators: { quickTaskMs: number }) => ThreadPool;

export function poolWithQuickTasksUnder(quickTaskMs: number, options: ThreadPoolOptions): ThreadPool {
  return new (ThreadPool as unknown as WithCollaborators)(options, { quickTaskMs });
}
