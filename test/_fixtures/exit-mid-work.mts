// Child process: process.exit() while tasks run, are queued, and a thread
// waits in a blocking call. Must exit at once, with the code given. The
// tasks spin for a minute and the call is never answered, so a process
// that waited for either would be killed by the test's bound, however
// many threads the pool has and however fast the machine is.
import { deferToThread } from 'reactor-threads';
import tasks from './tasks.cjs';
import bridge from './bridge-tasks.cjs';

for (let i = 0; i < 50; i++) void deferToThread(tasks.spin, 60_000).catch(() => undefined);
void deferToThread(bridge.callReactorCatching, 'neverAnswers').catch(() => undefined);
setTimeout(() => process.exit(4), 100);
