// Threadable tasks that move the ArrayBuffer of Node's Buffer pool (the
// slab that small Buffers share) with transfer(), each way
// (test/transfer.ts, through slab-moves.cjs): the sender's slab must be
// copied and left whole, never detached.
import { blockingCallFromThread, reactor, threadable, transfer } from 'reactor-threads';

/** The byte length of the buffer that arrived. */
export const byteLengthOf = threadable(function byteLengthOf(b: ArrayBuffer): number {
  return b.byteLength;
});

/** Returns, moved, the slab of a small Buffer it keeps: keptInThread() tells whether the thread's slab stayed whole. */
let kept: Buffer | undefined;
export const returnSlab = threadable(function returnSlab(): ArrayBuffer {
  kept = Buffer.from('kept in thread');
  return transfer(kept.buffer as ArrayBuffer);
});

/** The Buffer returnSlab() kept, and one made now, as text: both empty if the thread's slab was detached. */
export const keptInThread = threadable(function keptInThread(): string {
  return `${kept?.toString() ?? ''}|${Buffer.from('made after').toString()}`;
});

/** On the reactor: the slab of a small Buffer of the reactor's, moved. */
export const slabOnReactor = threadable(function slabOnReactor(): ArrayBuffer {
  return transfer(Buffer.from('reactor').buffer as ArrayBuffer);
});

/**
 * In a thread: moves its slab to the reactor by blockingCallFromThread and
 * by callFromThread, and gets one back from a blocking call; what arrived,
 * and its own small Buffer afterwards.
 */
export const slabThroughBridge = threadable(function slabThroughBridge(): { blocking: number; back: number; own: string } {
  const own = Buffer.from('thread own');
  const blocking = blockingCallFromThread(reactor, byteLengthOf, transfer(own.buffer as ArrayBuffer));
  reactor.callFromThread(byteLengthOf, transfer(own.buffer as ArrayBuffer));
  const back = blockingCallFromThread(reactor, slabOnReactor).byteLength;
  return { blocking, back, own: own.toString() };
});
