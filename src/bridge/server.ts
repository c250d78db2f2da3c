// The reactor bridge, serving side: this thread, as a reactor, runs the
// calls other threads make on it (src/bridge/caller.ts makes them) and
// answers the blocking ones. A call whose function must load first holds
// its sender's later messages until it ran (src/reactor/core.ts keeps that
// FIFO). One per thread, built with its reactor (src/runtime/this-thread.ts). Owning
// thread only. Tests: test/blocking-call-from-thread.ts,
// test/call-from-thread.ts, test/reactor-callables.ts.
import { deserialize } from 'node:v8';
import { CallableReleasedError, serializeUserFailure, ValueNotCloneableError } from '../errors/errors.js';
import { decodeValue, encodeResult, flattenOf, type ValueContext } from '../codec/codec.js';
import { loadFunction } from '../identity/functions.js';
import { native } from '../reactor/native.js';
import { reportToStderr } from '../errors/report.js';
import { CallRef, CallStatus, ownPayload, type FunctionDescriptor, type InboxMessage } from '../base/wire.js';
import { isThenable } from '../base/thenable.js';

export class CallServer {
  /** Interned functions by id; a Promise while the first call loads one. */
  readonly #functions = new Map<number, Function | Promise<Function>>();
  /** Blocking calls served here whose answer is not sent yet. */
  #unanswered = 0;
  /** Calls (blocking or not) served here, for pool.stats(). */
  #served = 0;

  /** `answered`: a blocking call was answered, `late` by its function's Promise (ReactorCore.answered). */
  constructor(private readonly values: ValueContext, private readonly answered: (late: boolean) => void) {}

  get pendingAnswers(): number { return this.#unanswered; }
  get served(): number { return this.#served; }

  /**
   * Serves one call. When its function must load first, returns a Promise
   * that settles once the call ran.
   */
  serve(m: InboxMessage): Promise<void> | undefined {
    const callId = m.id;
    this.#served++;
    if (callId !== 0) this.#unanswered++;
    if (m.status === CallRef.Callable) {
      const f = this.values.callables.callableFor(m.ref);
      if (!f) this.#reply(callId, false, new CallableReleasedError());
      else this.#invoke(callId, f, m);
      return undefined;
    }
    const f = this.#interned(m.ref);
    if (typeof f === 'function') {
      this.#invoke(callId, f, m);
      return undefined;
    }
    // (It runs after its batch's delivery: InboxMessage.payload.)
    ownPayload(m);
    return f.then((g) => this.#invoke(callId, g, m), (e: unknown) => this.#reply(callId, false, e));
  }

  #interned(id: number): Function | Promise<Function> {
    let f = this.#functions.get(id);
    if (!f) {
      const bytes = native.internedFunction(id);
      if (!bytes) return Promise.reject(new Error(`reactor-threads: unknown function id ${id}`));
      const loading = loadFunction(deserialize(bytes) as FunctionDescriptor);
      this.#functions.set(id, loading);
      loading.then((g) => this.#functions.set(id, g), () => this.#functions.delete(id));
      f = loading;
    }
    return f;
  }

  #invoke(callId: number, f: Function, m: InboxMessage): void {
    let result: unknown;
    // A pool thread whose pool flattens instances asks for its result so.
    const flatten = flattenOf(m.payload, false);
    try {
      const args = decodeValue(m.payload, m.transfers, this.values, 'args') as unknown[];
      result = f(...args);
    } catch (e) {
      this.#reply(callId, false, e);
      return;
    }
    if (isThenable(result)) {
      Promise.resolve(result).then((v) => this.#reply(callId, true, v, flatten, true), (e: unknown) => this.#reply(callId, false, e, false, true));
    } else {
      this.#reply(callId, true, result, flatten);
    }
  }

  /**
   * The outcome of a served call: answered (blocking) or reported
   * (callFromThread). `flatten`: flattenInstances for the result; `late`:
   * it comes from f's Promise.
   */
  #reply(callId: number, ok: boolean, value: unknown, flatten = false, late = false): void {
    if (callId === 0) {
      if (!ok) reportToStderr(value, 'a function called with callFromThread');
      return;
    }
    this.#unanswered--;
    this.#send(callId, ok, value, flatten);
    this.answered(late);
  }

  #send(callId: number, ok: boolean, value: unknown, flatten: boolean): void {
    if (ok) {
      try {
        const enc = encodeResult(value, this.values, flatten);
        native.bridgeReply(callId, CallStatus.Fulfilled, enc.bytes, enc.transfers);
        return;
      } catch (e) {
        value = e instanceof ValueNotCloneableError ? e : new ValueNotCloneableError('the result', e);
      }
    }
    native.bridgeReply(callId, CallStatus.Rejected, serializeUserFailure(value));
  }
}
