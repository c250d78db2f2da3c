// The tasks of the soak run: plain work, throws, thread deaths, calls
// back into the reactor, and large buffers moved both ways.
import { blockingCallFromThread, reactor, threadable, transfer } from 'reactor-threads';

export const double = threadable(function double(i: number): number { return i * 2; });
export const boom = threadable(function boom(i: number): never { throw new TypeError(`boom ${i}`); });
export const die = threadable(function die(): never { process.exit(9); });
const tripleOnReactor = threadable(function tripleOnReactor(i: number): number { return i * 3; });
export const askReactor = threadable(function askReactor(i: number): number {
  return blockingCallFromThread(reactor, tripleOnReactor, i);
});
/** Sends back what it was given, moved (64 KiB: it goes by port, both ways). */
export const echoMoved = threadable(function echoMoved(b: Uint8Array): Uint8Array { return transfer(b); });
