// Counts how many times each task settles, through a callback that is
// called once per settle (ThreadPool.callInThreadWithCallback's
// onResult): a Promise ignores a second resolve, so counting through
// `.then` could never see one. Every wait is bounded, and its failure
// says what is still pending, by kind. Used by test/stress.ts and
// test/threadpool-callbacks.ts.
import type { OnResult } from 'reactor-threads';

/** Says what is wrong with an outcome, or undefined when it is as expected. */
export type Check = (ok: boolean, value: unknown) => string | undefined;

export function describeOutcome(ok: boolean, value: unknown): string {
  if (ok) return `resolved with ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
  return `rejected with ${value instanceof Error ? `${value.name}: ${value.message}` : String(value)}`;
}

export class Settlements<K extends string = string> {
  readonly #kinds: K[] = [];
  readonly #times: number[] = [];
  readonly #pending = new Set<number>();
  #onDone: (() => void) | undefined;
  /** Second (and later) settles and unexpected outcomes, one line each. */
  readonly problems: string[] = [];

  /** Registers a task of `kind` and returns the onResult that counts its settles; its id is `count - 1`. */
  add(kind: K, check?: Check): OnResult<unknown> {
    const id = this.#kinds.length;
    this.#kinds.push(kind);
    this.#times.push(0);
    this.#pending.add(id);
    return (ok, value) => this.#settled(id, ok, value, check);
  }

  /** Counts a Promise's settle, for calls that can only be made through one (it cannot show a second). */
  addPromise(kind: K, p: Promise<unknown>, check?: Check): void {
    const onResult = this.add(kind, check);
    p.then((v) => onResult(true, v), (e: unknown) => onResult(false, e));
  }

  #settled(id: number, ok: boolean, value: unknown, check: Check | undefined): void {
    const n = ++this.#times[id]!;
    const kind = this.#kinds[id]!;
    if (n > 1) {
      this.problems.push(`task ${id} (${kind}) settled ${n} times, the last ${describeOutcome(ok, value)}`);
      return;
    }
    this.#pending.delete(id);
    const wrong = check?.(ok, value);
    if (wrong !== undefined) this.problems.push(`task ${id} (${kind}): ${wrong}`);
    if (this.#pending.size === 0) this.#onDone?.();
  }

  /** Tasks registered so far. */
  get count(): number { return this.#kinds.length; }

  /** How many times task `id` settled. */
  times(id: number): number { return this.#times[id] ?? 0; }

  /** Tasks that settled exactly once. */
  get settledOnce(): number { return this.#times.filter((n) => n === 1).length; }

  /** What has not settled yet, by kind: 'bridge 2, value 1', or 'nothing'. */
  pendingByKind(): string {
    const byKind = new Map<K, number>();
    for (const id of this.#pending) byKind.set(this.#kinds[id]!, (byKind.get(this.#kinds[id]!) ?? 0) + 1);
    if (byKind.size === 0) return 'nothing';
    return [...byKind].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k} ${n}`).join(', ');
  }

  /** Resolves once every registered task settled; rejects after `ms` saying what is still pending. */
  allSettled(ms: number): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => { this.#onDone = resolve; });
    return within(done, ms, 'waiting for every task to settle', () => this.pendingByKind());
  }
}

/**
 * `p`, or a rejection after `ms` whose message names the wait and, from
 * `pending()`, what it still waits for.
 */
export function within<T>(p: Promise<T>, ms: number, what: string, pending: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms: ${pending()}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
