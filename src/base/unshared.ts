// Serialization that never copies shared memory in silence. v8's default
// serializer refuses a bare SharedArrayBuffer but copies a view of one
// (Node writes views as host objects), so a value the walk of values.ts
// did not reach (nested deeper than it goes, in a cycle, on an Error's
// properties) could carry a view whose copy nobody else sees. This
// serializer throws a SharedMemoryMetError there instead; codec.ts either
// shares what it met (a pool task) or refuses it. Runs on every thread.
// Tests: test/shared-memory.ts.
import { isSharedArrayBuffer } from 'node:util/types';
import { DefaultSerializer } from 'node:v8';

/** What is said of shared memory met where it cannot be shared. */
export const SHARED_COPY_REFUSAL = 'shared memory (a SharedArrayBuffer, or a view of one) would arrive as a copy, not shared';

/** Shared memory met by a serializer that may not copy it. */
export class SharedMemoryMetError extends TypeError {
  constructor(message = SHARED_COPY_REFUSAL) {
    super(message);
    this.name = 'TypeError';
  }
}

// Node's default serializer writes views as host objects through this
// hook, and asks this one for a SharedArrayBuffer's id; @types/node does
// not declare them.
export const HostSerializer = DefaultSerializer as unknown as new () => DefaultSerializer & {
  _writeHostObject(view: ArrayBufferView): void;
  _getSharedArrayBufferId(sab: SharedArrayBuffer): number;
};

class UnsharedSerializer extends HostSerializer {
  override _writeHostObject(view: ArrayBufferView): void {
    if (isSharedArrayBuffer(view.buffer)) throw new SharedMemoryMetError();
    super._writeHostObject(view);
  }

  override _getSharedArrayBufferId(): number {
    throw new SharedMemoryMetError();
  }
}

/** As v8.serialize, but shared memory anywhere in `value` throws a SharedMemoryMetError. */
export function serializeUnshared(value: unknown): Buffer {
  const s = new UnsharedSerializer();
  s.writeHeader();
  s.writeValue(value);
  return s.releaseBuffer();
}
