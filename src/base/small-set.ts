// Sets and maps for the few entries a thread holds at a time, which churn
// one in and one out per task (the tasks a pool thread took, the ones
// running, the reply slots it answers). V8 shrinks a Set's or a Map's
// table whenever a delete leaves it nearly empty, and rebuilds it when
// deleted entries fill it: one that goes from empty to one entry and back
// for every task allocated about 120 bytes a task (1,000,000 add/delete
// pairs: 117 scavenges; these: none). These are arrays: adding and
// removing allocate nothing once they have room. Lookups scan, which for
// the handful of entries they hold (a thread's concurrency) is cheaper
// than hashing. Insertion order is kept. Any thread; one thread's own.
// Tests: test/small-set.ts.

/** A set of a few values, in insertion order. */
export class SmallSet<T> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** The oldest value, or undefined when empty. */
  get first(): T | undefined {
    return this.#items[0];
  }

  has(value: T): boolean {
    return this.#items.indexOf(value) >= 0;
  }

  add(value: T): void {
    if (this.#items.indexOf(value) < 0) this.#items.push(value);
  }

  /** Removes `value`; false if it was not here. The others keep their order. */
  delete(value: T): boolean {
    return removeAt(this.#items, this.#items.indexOf(value));
  }

  clear(): void {
    this.#items.length = 0;
  }

  /** A copy of the values, in order: iterate over it while the set changes. */
  values(): T[] {
    return this.#items.slice();
  }
}

/** A map of a few keys to values. */
export class SmallMap<K, V> {
  readonly #keys: K[] = [];
  readonly #values: V[] = [];

  get size(): number {
    return this.#keys.length;
  }

  has(key: K): boolean {
    return this.#keys.indexOf(key) >= 0;
  }

  get(key: K): V | undefined {
    const i = this.#keys.indexOf(key);
    return i < 0 ? undefined : this.#values[i];
  }

  set(key: K, value: V): void {
    const i = this.#keys.indexOf(key);
    if (i >= 0) {
      this.#values[i] = value;
      return;
    }
    this.#keys.push(key);
    this.#values.push(value);
  }

  /** Removes `key`; false if it was not here. */
  delete(key: K): boolean {
    const i = this.#keys.indexOf(key);
    return removeAt(this.#keys, i) && removeAt(this.#values, i);
  }
}

/** Removes the item at `i` (if `i` >= 0) by shifting the later ones down: no array is allocated, as splice's result would be. */
function removeAt<T>(items: T[], i: number): boolean {
  if (i < 0) return false;
  for (let j = i + 1; j < items.length; j++) items[j - 1] = items[j]!;
  items.pop();
  return true;
}
