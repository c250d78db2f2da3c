// Reactor callables (DESIGN.md section 3, item 3): a function passed as an
// argument to another thread stays on its reactor; what crosses is a
// handle, and the receiving thread gets a proxy that calls back through the
// bridge. Each handle is bound to the async context that handed it over.
// Runs on every thread (each is a reactor for its own functions).
// Tests: test/reactor-callables.ts.
import { AsyncResource } from 'node:async_hooks';
import { reactorId } from './loop.js';

/** How a function travels inside a value: `{ [MARKER]: [reactor id, handle] }`. */
const MARKER = '__reactorThreadsCallable';
const MAX_DEPTH = 32;

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
 * Replaces every function in `value` (top level, or nested in arrays and
 * plain objects) by a handle marker. Proxies go back as their own target;
 * kept functions as their kept handle; others get a handle for this call,
 * listed in `registered` for release when the call settles. Returns
 * `value` itself when it holds no function. `allowNew` false refuses
 * functions that are not kept (replies: nothing would release them).
 */
export function exportFunctions(value: unknown, registered: number[], allowNew = true): unknown {
  return swap(value, 0, (f) => {
    const target = proxyTargets.get(f);
    if (target) return { [MARKER]: target };
    let id = keptHandles.get(f);
    if (id === undefined) {
      if (!allowNew) return f;  // left for the serializer to refuse
      id = nextHandle++;
      handles.set(id, { fn: AsyncResource.bind(f as (...a: unknown[]) => unknown), kept: false });
      registered.push(id);
    }
    return { [MARKER]: [reactorId, id] };
  });
}

/** Turns handle markers back into functions: this reactor's own, or proxies made by `makeProxy`. */
export function importFunctions(value: unknown, makeProxy: (target: readonly [number, number]) => Function): unknown {
  return swapMarkers(value, 0, (target) => {
    if (target[0] === reactorId) return callableFor(target[1]) ?? makeProxy(target);
    return makeProxy(target);
  });
}

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Copy-on-write map over arrays and plain objects, applying `f` to functions. */
function swap(v: unknown, depth: number, f: (fn: Function) => unknown): unknown {
  if (typeof v === 'function') return f(v);
  if (typeof v !== 'object' || v === null || depth >= MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const y = swap(v[i], depth + 1, f);
      if (y !== v[i]) (out ??= v.slice())[i] = y;
    }
    return out ?? v;
  }
  if (!isPlain(v)) return v;
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    const y = swap(x, depth + 1, f);
    if (y !== x) (out ??= { ...(v as Record<string, unknown>) })[k] = y;
  }
  return out ?? v;
}

function markerTarget(v: object): readonly [number, number] | undefined {
  const t = (v as Record<string, unknown>)[MARKER];
  return Array.isArray(t) && t.length === 2 ? t as [number, number] : undefined;
}

function swapMarkers(v: unknown, depth: number, f: (target: readonly [number, number]) => Function): unknown {
  if (typeof v !== 'object' || v === null || depth >= MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = swapMarkers(v[i], depth + 1, f);
    return v;
  }
  if (!isPlain(v)) return v;
  const target = markerTarget(v);
  if (target) return f(target);
  for (const k of Object.keys(v)) {
    (v as Record<string, unknown>)[k] = swapMarkers((v as Record<string, unknown>)[k], depth + 1, f);
  }
  return v;
}
