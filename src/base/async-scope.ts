// Running a callback later in the async context it was given in (its
// AsyncLocalStorage stores, its async_hooks parent), as AsyncResource.bind
// does, for a fraction of the cost: Node 20's bind() builds a deprecation
// wrapper for each function it binds, some 25 µs, which on a trivial call
// through a pool was a tenth of its whole cost. Any thread.
import { AsyncResource } from 'node:async_hooks';

/** `f`, to be called later in the async context of this call to inScope(). */
export function inScope<A extends unknown[], R>(f: (...args: A) => R, name: string): (...args: A) => R {
  const scope = new AsyncResource(name);
  return (...args: A) => scope.runInAsyncScope(f, null, ...args);
}
