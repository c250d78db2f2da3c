// A plain Worker (not a pool thread) that parks in a blocking call which
// is never answered: to the main thread (workerData.kind 'from', the
// default), or on a thread of its own pool (workerData.kind 'in':
// blockingCallInThread).
import { parentPort, workerData } from 'node:worker_threads';
import { blockingCallFromThread, blockingCallInThread, reactor } from 'reactor-threads';
import tasks from './bridge-tasks.cjs';

const inThread = (workerData as { kind?: string } | null)?.kind === 'in';
parentPort!.postMessage('parking');
try {
  if (inThread) blockingCallInThread(tasks.neverAnswers);
  else blockingCallFromThread(reactor, tasks.neverAnswers);
} catch (e) {
  parentPort!.postMessage(`woken: ${(e as Error).name}`);
}
