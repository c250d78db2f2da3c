// Runs threadables from .ts and .cts modules in pool threads; prints what came back.
import { deferToThread } from 'reactor-threads';
import { digest, fails } from './tasks.ts';
import cjs from './tasks-cjs.cts';

const hash: string = await deferToThread(digest, { text: 'hello', rounds: 2 });
const sum: number = await deferToThread(cjs.add, [2, 3]);
const stack = await deferToThread(fails, 'on purpose').catch((e: Error) => e.stack ?? '');
const at = /tasks\.ts:(\d+)/.exec(stack)?.[1];
console.log(JSON.stringify({ hash, sum, failedAtLine: at === undefined ? null : Number(at) }));
