// Reactor callables (DESIGN.md section 3, item 3): a function passed as an
// argument to another thread stays on its reactor; what crosses is a
// handle, and the receiving thread gets a proxy that calls back through the
// bridge. Each handle is bound to the async context that handed it over.
// Runs on every thread (each is a reactor for its own functions).
// Tests: test/reactor-callables.ts.
import { AsyncResource } from 'node:async_hooks';
import { reactorId } from './loop.js';

interface Entry { fn: Function; kept: boolean }
const handles = new Map<number, Entry>();
const keptHandles = new WeakMap<Function, number>();
let nextHandle = 1;

/** A proxy's target: the reactor and handle it calls. Set by the bridge. */
const proxyTargets = new WeakMap<Function, readonly [number, number]>();

export function registerProxy(proxy: Function, target: readonly [number, number]): void {
  proxyTargets.set(proxy, target);
}

export function proxyTarget(f: unknown): readonly [number, number] | undefined {
  return typeof f === 'function' ? proxyTargets.get(f) : undefined;
}

/** The function behind a handle of this reactor, or undefined once released. */
export function callableFor(handle: number): Function | undefined {
  return handles.get(handle)?.fn;
}

/**
 * Keeps `f` callable from threads until releaseCallable(f): the same
 * handle is sent every time `f` is passed, to any number of tasks, and
 * calls made through it run in the async context of this call.
 */
export function keepCallable<F extends Function>(f: F): F {
  if (typeof f !== 'function') throw new TypeError('keepCallable(f): f must be a function');
  if (!keptHandles.has(f)) {
    const id = nextHandle++;
    handles.set(id, { fn: AsyncResource.bind(f as unknown as (...a: unknown[]) => unknown), kept: true });
    keptHandles.set(f, id);
  }
  return f;
}

/** Ends keepCallable(f). Later calls through its proxies fail with CallableReleasedError. */
export function releaseCallable(f: Function): boolean {
  const id = keptHandles.get(f);
  if (id === undefined) return false;
  keptHandles.delete(f);
  handles.delete(id);
  return true;
}

/** Releases the per-call handles of a settled task or call. */
export function releaseHandles(ids: readonly number[]): void {
  for (const id of ids) {
    const e = handles.get(id);
    if (e && !e.kept) handles.delete(id);
  }
}

/**
 * The handle by which `f` crosses, as [reactor id, handle]: a proxy goes
 * back as its own target, a kept function as its kept handle, any other
 * function gets a handle for this call (listed in `registered`, to release
 * when the call settles). Null when `registered` is null (new handles are
 * refused: nothing would release them) and `f` is neither.
 */
export function exportCallable(f: Function, registered: number[] | null): readonly [number, number] | null {
  const target = proxyTargets.get(f);
  if (target) return target;
  let id = keptHandles.get(f);
  if (id === undefined) {
    if (!registered) return null;
    id = nextHandle++;
    handles.set(id, { fn: AsyncResource.bind(f as (...a: unknown[]) => unknown), kept: false });
    registered.push(id);
  }
  return [reactorId, id];
}
