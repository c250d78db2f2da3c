// Reactor callables (DESIGN.md section 3, item 3): a function passed as an
// argument to another thread stays on its reactor; what crosses is a
// handle, and the receiving thread gets a proxy that calls back through the
// bridge. Each handle is bound to the async context that handed it over.
// One table per thread (each is a reactor for its own functions), built
// with the thread's reactor (src/runtime/this-thread.ts). Owning thread only.
// Tests: test/reactor-callables.ts.
import { inScope } from '../base/async-scope.js';

/** A callable's address: the reactor that runs it, and its handle there. */
export type CallableTarget = readonly [reactorId: number, handle: number];

interface Entry { fn: Function; kept: boolean }

export class CallableTable {
  readonly #handles = new Map<number, Entry>();
  readonly #kept = new WeakMap<Function, number>();
  /** Proxies made on this thread for other reactors' callables, and their targets. */
  readonly #proxyTargets = new WeakMap<Function, CallableTarget>();
  #next = 1;

  constructor(private readonly reactorId: number) {}

  /**
   * `proxy` must be a function made for this (BridgeCaller.makeProxy): a
   * caller looks a function up among those it interned before it asks
   * here (BridgeCaller's #refOf), so one interned first would never be
   * called as a proxy.
   */
  registerProxy(proxy: Function, target: CallableTarget): void {
    this.#proxyTargets.set(proxy, target);
  }

  proxyTarget(f: unknown): CallableTarget | undefined {
    return typeof f === 'function' ? this.#proxyTargets.get(f) : undefined;
  }

  /** The function behind a handle of this reactor, or undefined once released. */
  callableFor(handle: number): Function | undefined {
    return this.#handles.get(handle)?.fn;
  }

  /**
   * Keeps `f` callable from threads until release(f): the same handle is
   * sent every time `f` is passed, to any number of tasks, and calls made
   * through it run in the async context of this call.
   */
  keep<F extends Function>(f: F): F {
    if (typeof f !== 'function') throw new TypeError('keepCallable(f): f must be a function');
    if (!this.#kept.has(f)) {
      const id = this.#next++;
      this.#handles.set(id, { fn: inScope(f as unknown as (...a: unknown[]) => unknown, 'reactor-threads:callable'), kept: true });
      this.#kept.set(f, id);
    }
    return f;
  }

  /** Ends keep(f). Later calls through its proxies fail with CallableReleasedError. */
  unkeep(f: Function): boolean {
    const id = this.#kept.get(f);
    if (id === undefined) return false;
    this.#kept.delete(f);
    this.#handles.delete(id);
    return true;
  }

  /** Releases the per-call handles of a settled task or call. */
  release(ids: readonly number[]): void {
    for (const id of ids) {
      const e = this.#handles.get(id);
      if (e && !e.kept) this.#handles.delete(id);
    }
  }

  /**
   * The handle by which `f` crosses: a proxy goes back as its own target,
   * a kept function as its kept handle, any other function gets a handle
   * for this call (listed in `registered`, to release when the call
   * settles). Null when `registered` is null (new handles are refused:
   * nothing would release them) and `f` is neither.
   */
  export(f: Function, registered: number[] | null): CallableTarget | null {
    const target = this.#proxyTargets.get(f);
    if (target) return target;
    let id = this.#kept.get(f);
    if (id === undefined) {
      if (!registered) return null;
      id = this.#next++;
      const fn = inScope(f as (...a: unknown[]) => unknown, 'reactor-threads:callable');
      // Listed before it is made: a walk that runs out of stack between
      // the two (a deep value) leaves an id that release() skips, never a
      // handle that nothing releases.
      registered.push(id);
      this.#handles.set(id, { fn, kept: false });
    }
    return [this.reactorId, id];
  }
}
