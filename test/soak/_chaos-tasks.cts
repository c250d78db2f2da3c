// The tasks of the chaos run (chaos.mts): work that sleeps, spins, throws,
// kills its thread, moves buffers both ways, prints, and calls back into
// the reactor with and without a timeout.
import { blockingCallFromThread, reactor, threadable, transfer } from 'reactor-threads';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const sleep = threadable(async function sleep(ms: number): Promise<number> { await delay(ms); return ms; });
export const spin = threadable(function spin(ms: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return ms;
});
export const fail = threadable(function fail(m: string): never { throw new TypeError(m); });
export const die = threadable(function die(): never { process.exit(7); });
/** The buffer back, moved (`back`), or its length. */
export const echo = threadable(function echo(b: Uint8Array, back: boolean): Uint8Array | number {
  return back ? transfer(b) : b.byteLength;
});
export const echoLater = threadable(async function echoLater(b: Uint8Array, ms: number): Promise<Uint8Array> {
  await delay(ms);
  return transfer(b);
});
export const makeBytes = threadable(function makeBytes(n: number): Uint8Array { return transfer(new Uint8Array(n).fill(3)); });
export const print = threadable(function print(n: number): number { process.stdout.write(`${'x'.repeat(n)}\n`); return n; });
const triple = threadable(function triple(i: number): number { return i * 3; });
const tripleLater = threadable(async function tripleLater(i: number): Promise<number> { await delay(2); return i * 3; });
/** A blocking call back to the reactor, with no timeout. */
export const askReactor = threadable(function askReactor(i: number, later: boolean): number {
  return blockingCallFromThread(reactor, later ? tripleLater : triple, i);
});
export const askReactorWithin = threadable(function askReactorWithin(i: number): number {
  return blockingCallFromThread.with({ timeout: 2_000 })(reactor, tripleLater, i);
});
