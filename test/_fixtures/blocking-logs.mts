// A process that never used the pool before: it waits synchronously for a
// task that logs, prints the result, and must then exit by itself, with
// the task's output printed too (test/blocking-call-in-thread.ts).
import { blockingCallInThread } from 'reactor-threads';
import { logThen } from './blocking-in-thread.cjs';

const value = blockingCallInThread(logThen, 3, 'first');
process.stdout.write(`result ${value}\n`);
process.stdout.write(`result ${blockingCallInThread(logThen, 1, 'second')}\n`);
