// What a seeded chaos run keeps (chaos.mts, chaos-api.mts): its random
// numbers, the outcomes it counted, the ones that were wrong, and the calls
// still pending, which its stall watchdog reports by kind. The generator
// is the one both runs always used, so a seed that once found a bug
// replays the same run.
export class ChaosRun {
  readonly wrong: string[] = [];
  readonly counts: Record<string, number> = {};
  /** When a call last settled (or a blocking call returned): the watchdog's clock. */
  lastSettle = Date.now();
  readonly #pending = new Map<number, string>();
  #nextId = 0;
  #seed: number;

  constructor(seed: number) {
    this.#seed = seed;
  }

  readonly random = (): number => {
    this.#seed = (this.#seed * 1103515245 + 12345) & 0x7fffffff;
    return this.#seed / 0x7fffffff;
  };

  readonly below = (n: number): number => Math.floor(this.random() * n);

  readonly note = (outcome: string): void => { this.counts[outcome] = (this.counts[outcome] ?? 0) + 1; };

  /** A call of `kind` is pending: its id, for settled(). */
  begin(kind: string): number {
    const id = this.#nextId++;
    this.#pending.set(id, kind);
    return id;
  }

  /** Call `id` settled (or was refused at once: then it never was pending for long). */
  settled(id: number): void {
    this.#pending.delete(id);
    this.lastSettle = Date.now();
  }

  /** The calls still pending, counted by kind. */
  pendingByKind(): Record<string, number> {
    const byKind: Record<string, number> = {};
    for (const k of this.#pending.values()) byKind[k] = (byKind[k] ?? 0) + 1;
    return byKind;
  }
}
