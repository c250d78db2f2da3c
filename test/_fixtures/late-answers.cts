// Blocking calls back to back, answered at once or on a later turn of the
// reactor's loop than the calls came (test/reactor-conversation.ts).
import { blockingCallFromThread, reactor, threadable } from 'reactor-threads';

export const nextTurn = threadable(function nextTurn(x: number): Promise<number> {
  return new Promise((resolve) => setImmediate(() => resolve(x + 1)));
});

export const now = threadable(function now(x: number): number { return x + 1; });

/** In a pool thread: `n` calls back to back, of nextTurn (`late`) or now; their answers, summed. */
export const callsAnswered = threadable(function callsAnswered(late: boolean, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += blockingCallFromThread(reactor, late ? nextTurn : now, i) as number;
  return sum;
});

/** In a pool thread: one late-answered call, then `workUs` of work, as a task that calls its reactor once. */
export const oneCallThenWork = threadable(function oneCallThenWork(x: number, workUs: number): number {
  const answer = blockingCallFromThread(reactor, nextTurn, x) as number;
  const until = performance.now() + workUs / 1000;
  while (performance.now() < until);
  return answer;
});
