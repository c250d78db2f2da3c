// Threadables for the proxy test: a pool thread hands its owner one of
// its own functions (kept callable), which calls the owner back.
import { reactor, threadable } from 'reactor-threads';

/** In a pool thread: returns a function of this thread that calls `mark` on the owner (a blocking call). */
export const offerCallBack = threadable(function offerCallBack(mark: () => void): () => void {
  return reactor.keepCallable(function callsBack(): void { mark(); });
});

/** In a pool thread: returns a function of this thread (kept callable) that does nothing. */
export const offerNoop = threadable(function offerNoop(): () => void {
  return reactor.keepCallable(function noop(): void { /* a call to post */ });
});
