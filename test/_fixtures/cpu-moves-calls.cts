// Blocking calls back to back from a pool thread to its owner's reactor,
// until a caller moved off the reactor's CPU or `ms` passed; how many
// (test/_fixtures/cpu-moves.mts).
import { blockingCallFromThread, reactor, threadable } from 'reactor-threads';
import { native } from '../../dist/reactor/native.js';
import { now } from './late-answers.cjs';

export const callsUntilMoved = threadable(function callsUntilMoved(ms: number): number {
  const until = performance.now() + ms;
  let i = 0;
  for (; native.cpuMoves()[1] === 0 && performance.now() < until; i++) {
    if (blockingCallFromThread(reactor, now, i) !== i + 1) throw new Error('a wrong answer');
  }
  return i;
});
