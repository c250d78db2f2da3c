// Threadables for the wake-up tests: a pool thread that owns a nested pool
// whose thread floods it with callFromThread, so that it serves calls
// (and drains its inbox early) while its own pool hands it work.
import { deferToThreadPool, reactor, threadable, ThreadPool } from 'reactor-threads';

export const noop = threadable(function noop(): void { /* a call to serve */ });

/** In the nested pool's thread: callFromThread to its owner for `ms`. */
export const flood = threadable(function flood(ms: number): number {
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) {
    reactor.callFromThread(noop);
    n++;
  }
  return n;
});

/** In a pool thread: starts a nested pool whose thread floods this one. */
export const nestAndFlood = threadable(async function nestAndFlood(ms: number): Promise<number> {
  const nested = new ThreadPool({ minThreads: 1, maxThreads: 1, name: 'nested' });
  nested.start();
  try {
    return await deferToThreadPool(reactor, nested, flood, ms);
  } finally {
    await nested.stop();
  }
});

export const echo = threadable(function echo(v: number): number { return v; });
