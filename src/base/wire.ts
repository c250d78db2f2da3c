// Everything that crosses threads, as named layouts: the function
// descriptors, the message kinds and status codes, and the layouts of the
// native batches (native/batch.h writes them). The values inside travel
// as the codec writes them (src/codec/codec.ts). Runs on every thread.
// Tests: test/wire.ts.
import { bytesAt, viewOf } from './byte-views.js';

/** How a thread finds the function a task names. Sent once per pool and function. */
export type FunctionDescriptor =
  /** A function registered with threadable(): import `url`, look up `key`. */
  | { kind: 'threadable'; url: string; key: string; label: string }
  /** An export of a module: fromModule(), or a built-in function passed directly. */
  | { kind: 'export'; url: string; exportName: string; label: string }
  /**
   * A plain function, compiled from its source text in the thread. When
   * it has `import(...)` expressions, they were rewritten to call the
   * thread's importer, which resolves them from `imports.base`, the
   * caller's file (null when unknown).
   */
  | { kind: 'source'; source: string; label: string; imports?: { base: string | null }; bindings?: ImportBinding[]; strict?: true;
    /** It calls esbuild's `__name` helper: src/identity/source.ts KEEP_NAMES. */
    keepNames?: true }
  /**
   * callMultipleInThread's runner: args are `[fnId, args][]`. `fnIds`: the
   * functions the list calls (each once, sorted). A thread loads them all
   * before it reads the list, whose values may be instances of classes
   * that only their modules register.
   */
  | { kind: 'multiple'; label: string; fnIds: number[] };

/**
 * A free name of a function sent as source that is an import binding of
 * the module that defined it (a module no thread may import: the entry
 * script, or a bundle). The thread imports the same module again and
 * binds `name` before compiling the function. ESM bindings carry the URL
 * as resolveLater() made it; require() bindings carry the specifier and
 * the requiring file, since require() resolves under its own conditions.
 */
export type ImportBinding =
  /** `import { exportName as name } from url` */
  | { kind: 'named'; name: string; url: string; exportName: string; attributes?: Record<string, string> }
  /** `import name from url` */
  | { kind: 'default'; name: string; url: string; attributes?: Record<string, string> }
  /** `import * as name from url` */
  | { kind: 'namespace'; name: string; url: string; attributes?: Record<string, string> }
  /** `const name = require(specifier)`, or a wrapper of it (see RequireInterop) */
  | { kind: 'module'; name: string; specifier: string; base: string; interop?: RequireInterop }
  /** `const { property: name } = require(specifier)`, or `require(specifier).property` */
  | { kind: 'property'; name: string; specifier: string; base: string; property: string; interop?: RequireInterop };

/**
 * What a compiler's interop helper made of a required module object:
 * 'default' is TypeScript's `__importDefault` (and Babel's
 * `_interopRequireDefault`): `{ default: module }` unless the module says
 * `__esModule`; 'namespace' is `__importStar`, `_interopRequireWildcard`
 * and esbuild's `__toESM(m)`: the module's properties plus `default`,
 * unless it says `__esModule`; 'namespace-node' is esbuild's
 * `__toESM(m, 1)`, which sets `default` to the module even then.
 */
export type RequireInterop = 'default' | 'namespace' | 'namespace-node';

/**
 * Task status codes, as the native inbox carries them. Dropped: the task
 * ends unrun (its caller cancelled it, and its thread handed it back).
 * Answered*: a blockingCallInThread task, whose outcome went to its
 * caller's reply slot; the message only ends the task in the owner's
 * table, and carries no value.
 */
export const enum TaskStatus { Fulfilled = 0, Rejected = 1, Dropped = 2, AnsweredFulfilled = 3, AnsweredRejected = 4 }

/** Inbox message kinds (native/reactor.h MessageKind). */
export const enum MessageKind { TaskResult = 1, Call = 2, PoolDemand = 3, CancelTask = 4 }

/** What a Call message's `ref` names (its `status` field). */
export const enum CallRef { Interned = 0, Callable = 1 }

/** How a blocking call ended (native/bridge.h CallStatus). */
export const enum CallStatus {
  Fulfilled = 1, Rejected = 2, ReactorGone = 3, PoolStopped = 4, TimedOut = 5,
  Terminating = 6, WouldDeadlock = 7, Starved = 8, ThreadsLost = 9,
  /** Not an end: the pool's threads posted to the parked caller's port; it reads it and waits again. */
  Attention = 10,
}

/**
 * What a pool's owner and one of its threads say on the thread's port
 * beside the queue: large buffers moved (src/pool/moved-buffers.ts,
 * src/thread/moved-buffers.ts), each message `[kind, taskId or reactor id,
 * buffers?]`; and how much of the thread's console output the owner has
 * (Printed, Seen: src/pool/printed-output.ts, src/thread/outbox.ts).
 */
export const enum PortMove {
  /** Owner to thread: a task's moved buffers (ahead of its take, or asked for). */
  Give = 1,
  /** Owner to thread: send back the buffers of a task you did not take. */
  Return = 2,
  /** Owner to thread: the task is over; free its buffers if you still hold them. */
  Drop = 3,
  /** Thread to owner: its reactor id, first thing. */
  Hello = 4,
  /** Thread to owner: I took this task; send its buffers. */
  Want = 5,
  /** Thread to owner: the buffers of a task I no longer hold. */
  Back = 6,
  /** Thread to owner: a task's result buffers (its result follows natively). */
  Result = 7,
  /**
   * Thread to owner: say when you have received this many bytes of my
   * stdout and of my stderr (src/pool/printed-output.ts).
   */
  Printed = 8,
  /** Owner to thread: this many bytes of your stdout and stderr have come (answers Printed). */
  Seen = 9,
  /**
   * Thread to owner: where it keeps the writes of its stdout (0) or stderr
   * (1) that it could not post yet (src/base/printed-tail.ts).
   */
  Tail = 10,
  /**
   * Thread to owner: its onThreadExit runs now (id 0), and it takes no
   * more work; or it settled (id 1): src/pool/threads.ts.
   */
  ExitHook = 11,
}

export type PortMoveMessage = [kind: PortMove, id: number, buffers?: ArrayBuffer[]];
/** Printed and Seen: byte counts of a thread's console output, each from its start. */
export type PrintedMessage = [kind: PortMove.Printed | PortMove.Seen, stdout: number, stderr: number];
/** Tail: a thread's memory of its unposted output, for one of its streams. */
export type TailMessage = [kind: PortMove.Tail, stream: 0 | 1, memory: SharedArrayBuffer];
/** What a pool thread and its owner send each other on the thread's port. */
export type SidePortMessage = PortMoveMessage | PrintedMessage | TailMessage;

export const MESSAGE_HEADER = 32;
export const TASK_HEADER = 24;

/**
 * One message of a reactor's inbox batch (native/batch.cc DrainBatch). For a
 * TaskResult: `id` is the task, `ref` the pool. For a Call: `id` is the
 * reply slot (0: callFromThread), `ref` the function (see CallRef).
 */
export interface InboxMessage {
  kind: MessageKind;
  status: number;
  ref: number;
  id: number;
  /** The posting thread's reactor id for calls and task results; 0 for the pool's own signals. */
  sender: number;
  /**
   * Its bytes: a view of the batch it came in, which is the reactor's
   * inbox scratch (ReactorCore) when the batch fitted there, written over
   * by the next batch drained after this delivery. Whoever keeps a
   * message past its delivery (held back behind a loading call, waiting
   * for its buffers by port) calls ownPayload() first.
   */
  payload: Uint8Array;
  transfers: ArrayBuffer[] | undefined;
}

/**
 * A copy of `bytes` in memory of its own. (Uint8Array's slice copies; a
 * Buffer's own slice() would be a view, so it is not called through the
 * value, should a payload ever be a Buffer.)
 */
export const copyOfBytes = (bytes: Uint8Array): Uint8Array => Uint8Array.prototype.slice.call(bytes);

/** `m` now keeps a copy of its bytes of its own: it outlives the delivery of its batch (InboxMessage.payload). */
export function ownPayload(m: InboxMessage): void {
  m.payload = copyOfBytes(m.payload);
}

/** One task of a pool thread's batch (native/batch.cc WriteTaskBatch). */
export interface TaskMessage {
  taskId: number;
  fnId: number;
  /**
   * Its arguments, encoded: a view of the batch it came in, which is the
   * thread's take scratch (src/thread/worker.ts) when the batch fitted
   * there, overwritten by the thread's next take. So it is read only
   * while the task starts, or handed back, in the turn that took it; a
   * task left waiting past that turn gets a copy of its own
   * (TaskRunner's #waitFor).
   */
  payload: Uint8Array;
  transfers: ArrayBuffer[] | undefined;
  /** Its buffers by port were sent ahead to this thread (it was chosen for the task). */
  sentAhead: boolean;
}

/**
 * An array with room for exactly the entries of `batch` (`header` bytes
 * each, plus the payload length at `lengthAt`): most batches hold one,
 * and an array grown by push() starts with room for 17.
 */
function sized<T>(view: DataView, header: number, lengthAt: number): T[] {
  let n = 0;
  for (let off = 0; off < view.byteLength; off += header + view.getUint32(off + lengthAt, true)) n++;
  return new Array<T>(n);
}

/** The messages of a drained batch (native/batch.cc), in order. (An array, not a generator: one fewer object per batch and per message.) */
export function readInbox(batch: Uint8Array, transfers: ArrayBuffer[] | undefined): InboxMessage[] {
  const view = viewOf(batch);
  const out = sized<InboxMessage>(view, MESSAGE_HEADER, 20);
  let off = 0;
  let ti = 0;
  for (let i = 0; off < view.byteLength; i++) {
    const len = view.getUint32(off + 20, true);
    const nt = view.getUint32(off + 24, true);
    const start = off + MESSAGE_HEADER;
    out[i] = {
      id: view.getFloat64(off, true),
      kind: view.getUint32(off + 8, true) as MessageKind,
      status: view.getUint32(off + 12, true),
      ref: view.getUint32(off + 16, true),
      sender: view.getUint32(off + 28, true),
      payload: bytesAt(batch, start, start + len),
      transfers: nt ? transfers!.slice(ti, ti + nt) : undefined,
    };
    ti += nt;
    off = start + len;
  }
  return out;
}

/** The tasks of a batch a pool thread took (native/batch.cc WriteTaskBatch), in order. */
export function readTasks(batch: Uint8Array, transfers: ArrayBuffer[] | undefined): TaskMessage[] {
  const view = viewOf(batch);
  const out = sized<TaskMessage>(view, TASK_HEADER, 12);
  let off = 0;
  let ti = 0;
  for (let i = 0; off < view.byteLength; i++) {
    const len = view.getUint32(off + 12, true);
    const nt = view.getUint32(off + 16, true);
    const start = off + TASK_HEADER;
    out[i] = {
      taskId: view.getFloat64(off, true),
      fnId: view.getUint32(off + 8, true),
      payload: bytesAt(batch, start, start + len),
      transfers: nt ? transfers!.slice(ti, ti + nt) : undefined,
      sentAhead: (view.getUint32(off + 20, true) & 1) !== 0,
    };
    ti += nt;
    off = start + len;
  }
  return out;
}

