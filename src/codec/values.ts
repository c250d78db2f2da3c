// What crosses threads as a value (DESIGN.md section 5). Structured clone
// would silently change some values: an instance of a class loses its
// prototype, a URL becomes {}, a function or symbol fails with no path.
// One walk over an outgoing value (the arguments, or a result) handles
// them before serialization: functions become reactor callables, instances
// of classes registered with threadable(SomeClass) and thrown-style Error
// values become markers that the receiving thread turns back into their
// class, and everything else that would change is refused with a
// ValueNotCloneableError naming its path (`args[1].user.endpoint`).
// The walk enters arrays, plain objects, Maps and Sets. Inside a Map the
// path of a value is `.get(key)` when its key is a primitive (strings of
// up to 40 characters), else `.values()[i]`; of a key, `.keys()[i]`; of a
// Set member, `.values()[i]`, where i counts entries in iteration order:
// `args[0].get("home")`, `the result.tags.values()[1]`.
// Runs on every thread. Tests: test/values.ts.
import type { CallableTable } from './callables.js';
import { decodeThrow, encodeThrow, ValueNotCloneableError, type EncodedThrow } from '../errors/errors.js';
import { keyOf, lookup } from '../base/registry.js';

/** The key of every marker object: `{ [MARKER]: Marker }`. */
export const MARKER = '__reactorThreads';
const MAX_DEPTH = 64;

type Marker =
  | { k: 'callable'; target: readonly [number, number] }
  | { k: 'class'; key: string; props: Record<string, unknown> }
  | { k: 'error'; error: EncodedThrow };

/** Built-ins that structured clone copies faithfully, as they are (Maps and Sets are walked). */
const faithful: Function[] = [Date, RegExp, ArrayBuffer, Boolean, Number, String];
const faithfulNames = new Set(['SharedArrayBuffer', 'BigInt']);

/** What the caller asks of an outgoing walk. */
export interface Outbound {
  /** This thread's callables, by which functions cross. */
  callables: CallableTable;
  /** Handles of functions registered for this call (to release when it settles); null: refuse new ones. */
  handles: number[] | null;
}

/**
 * The value as it should be serialized, or `value` itself when nothing
 * needed changing. Throws a ValueNotCloneableError naming the path of the
 * first value that cannot cross faithfully.
 */
export function prepareOutbound(value: unknown, path: string, out: Outbound): unknown {
  return walk(value, path, 0, out, new Set());
}

function mark(m: Marker): Record<string, Marker> {
  return { [MARKER]: m };
}

function describeValue(v: object): string {
  const ctor = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor;
  return ctor?.name ? `an instance of ${ctor.name}` : 'an object with an unusual prototype';
}

function walk(v: unknown, path: string, depth: number, out: Outbound, seen: Set<object>): unknown {
  if (typeof v === 'function') {
    const target = out.callables.export(v, out.handles);
    if (!target) {
      throw new ValueNotCloneableError(path, new TypeError(
        'a function crosses only as a reactor callable passed to a task (keep it with reactor.keepCallable() to return it)'));
    }
    return mark({ k: 'callable', target });
  }
  if (typeof v === 'symbol') throw new ValueNotCloneableError(path, new TypeError('a symbol cannot be copied to another thread'));
  if (typeof v !== 'object' || v === null || depth >= MAX_DEPTH || seen.has(v)) return v;
  if (Array.isArray(v)) {
    seen.add(v);
    let copy: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const y = walk(v[i], `${path}[${i}]`, depth + 1, out, seen);
      if (y !== v[i]) (copy ??= v.slice())[i] = y;
    }
    seen.delete(v);
    return copy ?? v;
  }
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === Object.prototype || proto === null) {
    seen.add(v);
    let copy: Record<string, unknown> | undefined;
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      const y = walk(x, `${path}.${k}`, depth + 1, out, seen);
      if (y !== x) (copy ??= { ...(v as Record<string, unknown>) })[k] = y;
    }
    seen.delete(v);
    return copy ?? v;
  }
  if (v instanceof Map) return walkMap(v, path, depth, out, seen);
  if (v instanceof Set) return walkSet(v, path, depth, out, seen);
  if (ArrayBuffer.isView(v) || faithful.some((C) => v instanceof C) || faithfulNames.has(proto.constructor?.name ?? '')) return v;
  if (v instanceof Error) return mark({ k: 'error', error: encodeThrow(v) });
  const key = typeof proto.constructor === 'function' ? keyOf(proto.constructor) : undefined;
  if (key) {
    seen.add(v);
    const props: Record<string, unknown> = {};
    for (const k of Object.keys(v)) props[k] = walk((v as Record<string, unknown>)[k], `${path}.${k}`, depth + 1, out, seen);
    seen.delete(v);
    return mark({ k: 'class', key, props });
  }
  throw new ValueNotCloneableError(path, new TypeError(
    `${describeValue(v)} would arrive as a plain object, its class and private state lost; `
    + 'send plain data, or register the class with threadable(TheClass)'));
}

/** The path of a Map's value: `.get(key)` for a short primitive key, else by position. */
function mapValuePath(key: unknown, i: number): string {
  switch (typeof key) {
    case 'string': if (key.length <= 40) return `.get(${JSON.stringify(key)})`; break;
    case 'number': return `.get(${Object.is(key, -0) ? '-0' : String(key)})`;
    case 'boolean': case 'undefined': return `.get(${String(key)})`;
    case 'bigint': return `.get(${key}n)`;
    case 'object': if (key === null) return '.get(null)'; break;
  }
  return `.values()[${i}]`;
}

/** As walk() for a Map: its keys and values. A copy when any changed, in the same order. */
function walkMap(m: Map<unknown, unknown>, path: string, depth: number, out: Outbound, seen: Set<object>): Map<unknown, unknown> {
  seen.add(m);
  let copy: Map<unknown, unknown> | undefined;
  let i = 0;
  for (const [k, x] of m) {
    const k2 = walk(k, `${path}.keys()[${i}]`, depth + 1, out, seen);
    const x2 = walk(x, `${path}${mapValuePath(k, i)}`, depth + 1, out, seen);
    if (!copy && (k2 !== k || x2 !== x)) {
      copy = new Map();
      let j = 0;
      for (const [pk, px] of m) { if (j++ === i) break; copy.set(pk, px); }
    }
    copy?.set(k2, x2);
    i++;
  }
  seen.delete(m);
  return copy ?? m;
}

/** As walk() for a Set: its members. A copy when any changed, in the same order. */
function walkSet(set: Set<unknown>, path: string, depth: number, out: Outbound, seen: Set<object>): Set<unknown> {
  seen.add(set);
  let copy: Set<unknown> | undefined;
  let i = 0;
  for (const x of set) {
    const y = walk(x, `${path}.values()[${i}]`, depth + 1, out, seen);
    if (!copy && y !== x) {
      copy = new Set();
      let j = 0;
      for (const p of set) { if (j++ === i) break; copy.add(p); }
    }
    copy?.add(y);
    i++;
  }
  seen.delete(set);
  return copy ?? set;
}

/** On arrival: markers back into functions, class instances and errors. `makeProxy` builds callables. */
export function reviveInbound(value: unknown, makeProxy: (target: readonly [number, number]) => Function): unknown {
  return revive(value, 0, makeProxy);
}

function revive(v: unknown, depth: number, makeProxy: (target: readonly [number, number]) => Function): unknown {
  if (typeof v !== 'object' || v === null || depth >= MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i], depth + 1, makeProxy);
    return v;
  }
  if (v instanceof Map) {
    const keys = [...v.keys()];
    const entries = [...v].map(([k, x]) => [revive(k, depth + 1, makeProxy), revive(x, depth + 1, makeProxy)] as const);
    // A revived key is a new object: rebuild the Map, in its order.
    if (entries.some(([k], i) => k !== keys[i])) v.clear();
    for (const [k, x] of entries) v.set(k, x);
    return v;
  }
  if (v instanceof Set) {
    const members = [...v];
    const revived = members.map((x) => revive(x, depth + 1, makeProxy));
    if (revived.some((x, i) => x !== members[i])) {
      v.clear();
      for (const x of revived) v.add(x);
    }
    return v;
  }
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto !== Object.prototype && proto !== null) return v;
  const m = (v as Record<string, unknown>)[MARKER] as Marker | undefined;
  if (m && typeof m === 'object' && 'k' in m) {
    if (m.k === 'callable') return makeProxy(m.target);
    if (m.k === 'error') return decodeThrow(m.error);
    const cls = lookup(m.key);
    if (typeof cls !== 'function') {
      throw new ValueNotCloneableError(m.key.slice(m.key.indexOf('#') + 1), new TypeError(
        `its class ${m.key} is not registered in this thread: import the module that defines it in the task's module`));
    }
    const obj = Object.create(cls.prototype as object) as Record<string, unknown>;
    for (const [k, x] of Object.entries(m.props)) obj[k] = revive(x, depth + 1, makeProxy);
    return obj;
  }
  for (const k of Object.keys(v)) (v as Record<string, unknown>)[k] = revive((v as Record<string, unknown>)[k], depth + 1, makeProxy);
  return v;
}
