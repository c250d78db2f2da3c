// A pool's starvation watch: when every thread (at max) is parked in a
// blocking call on the owner while tasks are queued, no queued task can
// start; after starvationTimeout the pool reports a PoolStarvedError and
// ends those calls. Its timer runs on the pool's clock. Owner thread only.
// Tests: test/bridge-pool-threads.ts.
import { PoolStarvedError } from '../errors/errors.js';
import { native } from '../reactor/native.js';
import type { Clock } from './collaborators.js';
import type { ResolvedOptions } from './options.js';

export interface StarvationContext {
  readonly poolId: number;
  readonly options: ResolvedOptions;
  readonly clock: Clock;
  /** The call status that ends a parked blocking call as starved (CallStatus.Starved, src/base/wire.ts). */
  readonly starved: number;
  /** Threads alive or starting, but for those running their onThreadExit (which take no work). */
  threads(): number;
  /** True once stop() was called (it ends the waits itself, and may have destroyed the pool). */
  stopped(): boolean;
  report(error: unknown, context: string): void;
}

export class StarvationWatch {
  readonly #ctx: StarvationContext;
  #timer: unknown;
  /** A check is queued for the end of this turn (watch()). */
  #checkQueued = false;

  constructor(ctx: StarvationContext) {
    this.#ctx = ctx;
  }

  /**
   * Queued work no thread took, at max: arms the timer if every thread is
   * parked. Checked once at the end of the current turn, not per call: a
   * burst of 50,000 submissions asks native (under the registry's lock,
   * which every pool thread's call also takes) once, not 50,000 times.
   */
  watch(): void {
    if (this.#timer !== undefined || this.#checkQueued || !Number.isFinite(this.#ctx.options.starvationTimeout)) return;
    this.#checkQueued = true;
    queueMicrotask(() => {
      this.#checkQueued = false;
      if (!this.#ctx.stopped()) this.#check();
    });
  }

  #check(): void {
    const { poolId, options, clock } = this.#ctx;
    const timeout = options.starvationTimeout;
    if (this.#timer !== undefined) return;
    // Every thread parked: watch. Some parked while work waits: watch too,
    // since this check runs a turn late and a thread answered meanwhile
    // may park again for good with no new demand to call watch(); the
    // timer below looks again and reports only a real starvation.
    const parked = native.poolParkedThreads(poolId);
    if (parked === 0) return;
    if (parked < this.#ctx.threads() && native.poolCounts(poolId).queued === 0) return;
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#ctx.stopped()) return;
      // Starved only if every thread has waited in the same call all along:
      // threads that park now and then in short calls make progress.
      const parked = native.poolParkedThreads(poolId, timeout);
      if (native.poolCounts(poolId).queued === 0) return;
      if (parked < this.#ctx.threads()) {
        // Not for the whole timeout yet (a later park, or a timer that ran
        // early on the loop's clock): still all parked, so watch again.
        this.#check();
        return;
      }
      this.#ctx.report(new PoolStarvedError(
        `all ${parked} threads of pool '${options.name}' waited ${timeout} ms on their owner `
        + 'while tasks were queued; their blocking calls were ended'), 'the pool');
      native.poolWakeParked(poolId, this.#ctx.starved);
    }, timeout);
  }

  cancel(): void {
    if (this.#timer === undefined) return;
    this.#ctx.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
