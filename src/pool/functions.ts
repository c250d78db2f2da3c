// A pool's function table: the id by which each function (or hook) a task
// names is known to the pool's threads. A descriptor is sent to native once
// per function object; equal descriptors share an id there. Owner thread
// only. Tests: test/functions.ts.
import { serialize } from 'node:v8';
import { describe } from '../identity/functions.js';
import { native } from '../reactor/native.js';
import { FunctionNotSendableError } from '../errors/errors.js';
import type { FunctionDescriptor } from '../base/wire.js';

export class FunctionTable {
  readonly #poolId: number;
  readonly #ids = new WeakMap<object, number>();
  /** callMultipleInThread's runner, by the functions its lists call (FunctionDescriptor 'multiple'). */
  readonly #multiples = new Map<string, number>();

  constructor(poolId: number) {
    this.#poolId = poolId;
  }

  /** The id of `f`; throws a FunctionNotSendableError if it cannot be sent. */
  id(f: unknown, descriptor?: FunctionDescriptor): number {
    const key = (typeof f === 'function' || (typeof f === 'object' && f !== null)) ? f as object : undefined;
    const known = key && this.#ids.get(key);
    if (known) return known;
    const id = native.poolDefine(this.#poolId, serialize(descriptor ?? describe(f)));
    if (key) this.#ids.set(key, id);
    return id;
  }

  /**
   * The id of callMultipleInThread's runner for a list calling `fnIds`:
   * one per set of functions, which a thread loads before it reads the
   * list (a class of their modules may be in its values). A program's
   * lists usually call few sets; each costs a small descriptor here and
   * in native for the pool's life.
   */
  multiple(fnIds: readonly number[]): number {
    const ids = [...new Set(fnIds)].sort((a, b) => a - b);
    const key = ids.join();
    let id = this.#multiples.get(key);
    if (id === undefined) {
      const descriptor: FunctionDescriptor = { kind: 'multiple', label: 'callMultipleInThread', fnIds: ids };
      id = native.poolDefine(this.#poolId, serialize(descriptor));
      this.#multiples.set(key, id);
    }
    return id;
  }

  /**
   * callMultipleInThread's list as its runner takes it, each function by
   * its id. A function that cannot be sent is named by its place in the
   * list (`list[2][0]`), as a refused argument is (`list[2][1][0]`).
   */
  entries(list: readonly (readonly [unknown, readonly unknown[]])[]): [number, readonly unknown[]][] {
    return list.map(([f, args], i) => {
      try {
        return [this.id(f), args];
      } catch (e) {
        if (!(e instanceof FunctionNotSendableError)) throw e;
        throw new FunctionNotSendableError(`list[${i}][0]: ${e.message}`, e.cause);
      }
    });
  }
}
