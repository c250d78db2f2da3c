// Lifecycle hooks for test/thread-lifecycle.ts. They log to the file named
// by HOOK_LOG (the pool passes it in its threads' env).
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { threadable, type ThreadInfo } from 'reactor-threads';

let connection: string | undefined;

export const openConnection = threadable(async function openConnection(info: ThreadInfo): Promise<void> {
  await new Promise((r) => setTimeout(r, 5));
  connection = `conn-${info.threadId}`;
  appendFileSync(process.env.HOOK_LOG!, `${threadId}:start ${info.pool}\n`);
});
export const closeConnection = threadable(function closeConnection(): void {
  appendFileSync(process.env.HOOK_LOG!, `${threadId}:exit ${connection ?? 'none'}\n`);
  connection = undefined;
});
export const useConnection = threadable(function useConnection(): { connection?: string; threadId: number } {
  return { connection, threadId };
});
export const failToStart = threadable(function failToStart(): never {
  throw new Error('the database is down');
});
export const neverStarts = threadable(function neverStarts(): Promise<never> {
  return new Promise(() => {});
});
export const slowStart = threadable(async function slowStart(): Promise<void> {
  await new Promise((r) => setTimeout(r, 600));
  connection = 'slow';
});
export const neverCloses = threadable(function neverCloses(): Promise<never> {
  return new Promise(() => {});
});
export const slowerClose = threadable(async function slowerClose(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000));
});
