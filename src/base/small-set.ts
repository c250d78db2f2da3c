// Sets and maps for the few entries a thread holds at a time, which churn
// one in and one out per task (the tasks a pool thread took, the ones
// running, the reply slots it answers). V8 shrinks a Set's or a Map's
// table whenever a delete leaves it nearly empty, and rebuilds it when
// deleted entries fill it: one that goes from empty to one entry and back
// for every task allocated about 120 bytes a task (1,000,000 add/delete
// pairs: 117 scavenges; these: none). Up to ARRAY_MAX entries these are
// arrays, which allocate nothing once they have room, and whose scans,
// for a handful of entries (a thread's default concurrency is 8), cost
// less than hashing. Past that (a pool with a concurrency in the
// thousands) they hold a Set or a Map, until they are empty again: scans
// there made a run quadratic (400,000 tasks at a concurrency of 100,000:
// 2.8 s with a Set, 73 s with an array). Insertion order is kept.
// Any thread; one thread's own. Tests: test/small-set.ts.

/** Entries held in an array, at most; past that, in a Set or a Map. */
const ARRAY_MAX = 32;

/** A set of a few values, in insertion order. */
export class SmallSet<T> {
  #items: T[] = [];
  /** The values, once there were more than ARRAY_MAX (until it empties). */
  #set: Set<T> | undefined;
  /**
   * In a Set: an iterator kept at the oldest value, so that taking the
   * oldest one after another costs O(1) each (a new iterator would walk
   * every deleted entry at the front of the Set's table). A Set's iterator
   * goes on past entries deleted and sees those added later.
   */
  #head: Iterator<T> | undefined;
  /** The value #head stopped at, while it is the oldest (deleting it clears this). */
  #headValue: T | undefined;
  #headCached = false;

  get size(): number {
    return this.#set ? this.#set.size : this.#items.length;
  }

  /** The oldest value, or undefined when empty. */
  get first(): T | undefined {
    const set = this.#set;
    if (!set) return this.#items[0];
    if (this.#headCached) return this.#headValue;
    // (An iterator that ran out stays done, even after adds: a new one.)
    for (let pass = 0; pass < 2; pass++) {
      this.#head ??= set.values();
      for (let r = this.#head.next(); !r.done; r = this.#head.next()) {
        if (!set.has(r.value)) continue;
        this.#headValue = r.value;
        this.#headCached = true;
        return r.value;
      }
      this.#head = undefined;
    }
    return undefined;
  }

  has(value: T): boolean {
    return this.#set ? this.#set.has(value) : this.#items.indexOf(value) >= 0;
  }

  add(value: T): void {
    if (this.#set) {
      this.#set.add(value);
      return;
    }
    if (this.#items.indexOf(value) >= 0) return;
    if (this.#items.length < ARRAY_MAX) {
      this.#items.push(value);
      return;
    }
    this.#set = new Set(this.#items);
    this.#set.add(value);
    this.#items = [];
    this.#head = undefined;
    this.#headCached = false;
  }

  /** Removes `value`; false if it was not here. The others keep their order. */
  delete(value: T): boolean {
    if (!this.#set) return removeAt(this.#items, this.#items.indexOf(value));
    const had = this.#set.delete(value);
    // (Deleted and added again, it would be the newest: #head has gone past it, and goes on.)
    if (had && this.#headCached && value === this.#headValue) this.#headCached = false;
    if (this.#set.size === 0) this.clear();
    return had;
  }

  clear(): void {
    this.#set = undefined;
    this.#head = undefined;
    this.#headValue = undefined;
    this.#headCached = false;
    while (this.#items.length > 0) this.#items.pop();
  }

  /** A copy of the values, in order: iterate over it while the set changes. */
  values(): T[] {
    return this.#set ? [...this.#set] : this.#items.slice();
  }
}

/** A map of a few keys to values. */
export class SmallMap<K, V> {
  #keys: K[] = [];
  #values: V[] = [];
  /** The entries, once there were more than ARRAY_MAX (until it empties). */
  #map: Map<K, V> | undefined;

  get size(): number {
    return this.#map ? this.#map.size : this.#keys.length;
  }

  has(key: K): boolean {
    return this.#map ? this.#map.has(key) : this.#keys.indexOf(key) >= 0;
  }

  get(key: K): V | undefined {
    if (this.#map) return this.#map.get(key);
    const i = this.#keys.indexOf(key);
    return i < 0 ? undefined : this.#values[i];
  }

  set(key: K, value: V): void {
    if (this.#map) {
      this.#map.set(key, value);
      return;
    }
    const i = this.#keys.indexOf(key);
    if (i >= 0) {
      this.#values[i] = value;
    } else if (this.#keys.length < ARRAY_MAX) {
      this.#keys.push(key);
      this.#values.push(value);
    } else {
      this.#map = new Map(this.#keys.map((k, j) => [k, this.#values[j]!]));
      this.#map.set(key, value);
      this.#keys = [];
      this.#values = [];
    }
  }

  /** Removes `key`; false if it was not here. */
  delete(key: K): boolean {
    if (this.#map) {
      const had = this.#map.delete(key);
      if (this.#map.size === 0) this.#map = undefined;
      return had;
    }
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
