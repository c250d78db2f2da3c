// A table keyed by task id, for the tasks a pool has in flight. Task ids
// are small positive integers handed out in increasing order, so most of
// the table is runs of consecutive ids: it keeps them in fixed chunks of
// slots (8 bytes a task) instead of a Map (about 36 bytes a task), since
// every byte here is multiplied by the queue's length (bench: queue).
//
// Ids that outlive their neighbours (a long task among short ones) must not
// pin a whole chunk: once a chunk is behind the newest one and at most an
// eighth of it is in use, its survivors move to a Map and the chunk goes.
// So the table never holds more than about 64 bytes per entry, even when
// ids come sparse (several pools share one id sequence); ids go past 2^32
// (a million tasks a second do in 72 minutes), so no 32-bit arithmetic.
// Owner thread only.
// Tests: test/id-table.ts.

const CHUNK = 512;                   // slots per chunk
const SPARSE = CHUNK / 8;            // at most this many in use: an old chunk goes

interface Chunk<V> {
  readonly slots: (V | undefined)[];
  live: number;
}

export class IdTable<V> {
  readonly #chunks = new Map<number, Chunk<V>>();
  /** Entries of chunks that went sparse. */
  readonly #spilled = new Map<number, V>();
  /** The chunk of the highest id set so far: chunks below it get no new ids. */
  #newest = -1;
  #size = 0;

  get size(): number { return this.#size; }

  /**
   * The entries it has room for now: chunk slots plus spilled entries.
   * At most 8 x size, plus the two newest chunks (test/id-table.ts).
   */
  get footprint(): number { return this.#chunks.size * CHUNK + this.#spilled.size; }

  /** `id`: a positive safe integer; `value` never undefined (an empty slot). Replaces the entry if there is one. */
  set(id: number, value: V): void {
    const no = Math.floor(id / CHUNK);
    let chunk = this.#chunks.get(no);
    if (!chunk) {
      if (no < this.#newest) {
        // Behind the chunks in use (an old id set again): no chunk for it.
        if (!this.#spilled.has(id)) this.#size++;
        this.#spilled.set(id, value);
        return;
      }
      chunk = { slots: new Array<V | undefined>(CHUNK), live: 0 };
      this.#chunks.set(no, chunk);
      if (no > this.#newest) this.#retireBelow(no);
    }
    const i = id - no * CHUNK;
    if (chunk.slots[i] === undefined) {
      chunk.live++;
      this.#size++;
    }
    chunk.slots[i] = value;
  }

  get(id: number): V | undefined {
    const no = Math.floor(id / CHUNK);
    const chunk = this.#chunks.get(no);
    return chunk ? chunk.slots[id - no * CHUNK] : this.#spilled.get(id);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Removes and returns the entry of `id`, if there is one. */
  take(id: number): V | undefined {
    const no = Math.floor(id / CHUNK);
    const chunk = this.#chunks.get(no);
    if (!chunk) {
      const v = this.#spilled.get(id);
      if (v !== undefined) {
        this.#spilled.delete(id);
        this.#size--;
      }
      return v;
    }
    const i = id - no * CHUNK;
    const v = chunk.slots[i];
    if (v === undefined) return undefined;
    chunk.slots[i] = undefined;
    chunk.live--;
    this.#size--;
    if (no < this.#newest) this.#shrink(no, chunk);
    return v;
  }

  /** Every id in the table, ascending (a copy: the table may change meanwhile). */
  ids(): number[] {
    const out = [...this.#spilled.keys()];
    for (const [no, chunk] of this.#chunks) {
      for (let i = 0; i < CHUNK; i++) if (chunk.slots[i] !== undefined) out.push(no * CHUNK + i);
    }
    return out.sort((a, b) => a - b);
  }

  /** `newest` became the newest chunk: every older one may be sparse already. */
  #retireBelow(newest: number): void {
    const old = this.#newest;
    this.#newest = newest;
    if (old >= 0) {
      const chunk = this.#chunks.get(old);
      if (chunk) this.#shrink(old, chunk);
    }
  }

  /** An old chunk: dropped when empty, spilled when sparse. */
  #shrink(no: number, chunk: Chunk<V>): void {
    if (chunk.live > SPARSE) return;
    this.#chunks.delete(no);
    if (chunk.live === 0) return;
    for (let i = 0; i < CHUNK; i++) {
      const v = chunk.slots[i];
      if (v !== undefined) this.#spilled.set(no * CHUNK + i, v);
    }
  }
}
