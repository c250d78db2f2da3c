// Blocking calls whose answers leave on a later turn of the reactor's loop
// than the calls came: f resolves on the next setImmediate
// (test/reactor-conversation.ts).
import { blockingCallFromThread, reactor, threadable } from 'reactor-threads';

export const nextTurn = threadable(function nextTurn(x: number): Promise<number> {
  return new Promise((resolve) => setImmediate(() => resolve(x + 1)));
});

/** In a pool thread: `n` such calls back to back; their answers, summed. */
export const callsAnsweredLate = threadable(function callsAnsweredLate(n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += blockingCallFromThread(reactor, nextTurn, i) as number;
  return sum;
});
