// The tasks of the soak run: plain work, throws, thread deaths and calls
// back into the reactor.
import { blockingCallFromThread, reactor, threadable } from 'reactor-threads';

export const double = threadable(function double(i: number): number { return i * 2; });
export const boom = threadable(function boom(i: number): never { throw new TypeError(`boom ${i}`); });
export const die = threadable(function die(): never { process.exit(9); });
const tripleOnReactor = threadable(function tripleOnReactor(i: number): number { return i * 3; });
export const askReactor = threadable(function askReactor(i: number): number {
  return blockingCallFromThread(reactor, tripleOnReactor, i);
});
