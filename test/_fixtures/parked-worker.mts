// A plain Worker (not a pool thread) that parks in a blocking call to the
// main thread which is never answered.
import { parentPort } from 'node:worker_threads';
import { blockingCallFromThread, reactor } from 'reactor-threads';
import tasks from './bridge-tasks.cjs';

parentPort!.postMessage('parking');
try {
  blockingCallFromThread(reactor, tasks.neverAnswers);
} catch (e) {
  parentPort!.postMessage(`woken: ${(e as Error).name}`);
}
