// Child process: process.exit() while tasks run, are queued, and a thread
// waits in a blocking call. Must exit at once, with the code given.
import { deferToThread } from 'reactor-threads';
import tasks from './tasks.cjs';
import bridge from './bridge-tasks.cjs';

for (let i = 0; i < 50; i++) void deferToThread(tasks.spin, 200).catch(() => undefined);
void deferToThread(bridge.callReactorCatching, 'neverAnswers').catch(() => undefined);
setTimeout(() => process.exit(4), 100);
