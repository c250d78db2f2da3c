// Threadables for the outbox tests: tasks whose results wait for their
// thread's console output, next to tasks that block on the reactor or end
// their thread.
import { appendFileSync } from 'node:fs';
import { blockingCallFromThread, reactor, threadable } from 'reactor-threads';

interface ReactorGlobals { outboxFlag?: boolean; outboxPromises?: Record<string, Promise<unknown>> }
const g = globalThis as ReactorGlobals;

/** On the reactor. */
export const setFlag = threadable(function setFlag(): void { g.outboxFlag = true; });
export const readFlag = threadable(function readFlag(): boolean { return g.outboxFlag === true; });
export const promiseNamed = threadable(function promiseNamed(name: string): Promise<unknown> | undefined {
  return g.outboxPromises?.[name];
});

/** In a thread: prints (so its result waits for stdio), then returns `v`. */
export const printAndReturn = threadable(function printAndReturn(v: string): string {
  console.log(`printAndReturn ${v}`);
  return v;
});
/** In a thread: posts setFlag, then reads the flag with a blocking call. */
export const postThenRead = threadable(function postThenRead(): boolean {
  reactor.callFromThread(setFlag);
  return blockingCallFromThread(reactor, readFlag);
});
/** In a thread: waits, through the reactor, for the Promise the reactor keeps under `name`. */
export const awaitPromiseNamed = threadable(function awaitPromiseNamed(name: string): unknown {
  return blockingCallFromThread(reactor, promiseNamed, name);
});
/** In a thread: appends to `file` (counting runs across threads), then ends the thread. */
export const recordThenExit = threadable(function recordThenExit(file: string): never {
  appendFileSync(file, 'ran\n');
  process.exit(3);
});
/** In a thread: appends to `file`, prints, and returns `v`. */
export const recordPrintAndReturn = threadable(function recordPrintAndReturn(file: string, v: string): string {
  appendFileSync(file, 'ran\n');
  console.log(`recordPrintAndReturn ${v}`);
  return v;
});
export const echo = threadable(function echo(v: string): string { return v; });
