// Waits synchronously (blockingCallInThread) for threadables of .ts and .cts modules; prints what came back.
import { blockingCallInThread } from 'reactor-threads';
import { digest } from './tasks.ts';
import cjs from './tasks-cjs.cts';

const hash: string = blockingCallInThread(digest, { text: 'hello', rounds: 2 });
const sum: number = blockingCallInThread(cjs.add, [2, 3]);
console.log(JSON.stringify({ hash, sum }));
