// Why a value cannot cross threads, and what to do instead: the advice of
// a ValueNotCloneableError fits the value (await a Promise, send a URL's
// href, register your class or opt in to flattenInstances for someone
// else's). Also what makes an instance plain data, which flattenInstances
// needs to know, and which registered classes declare private members,
// which an instance made on arrival cannot have (src/codec/values.ts).
// Runs on every thread. Tests: test/values.ts, test/flatten-instances.ts.
import { parse, type AstNode } from '../identity/parsers.js';

const nativeCode = /\{\s*\[native code\]\s*\}\s*$/;
/** Per prototype: what its instances are when they are not plain data, or ''. */
const byPrototype = new WeakMap<object, string>();

/**
 * What an instance of this prototype is when it is never plain data,
 * whatever its own properties ('' when it may be): a thenable (a Promise,
 * or a library's own), or a built-in, tagged with Symbol.toStringTag (URL,
 * WeakMap, AbortSignal, an iterator…) or made by a native constructor,
 * whose state is not in its own properties.
 */
export function notPlainPrototype(proto: object): string {
  let what = byPrototype.get(proto);
  if (what !== undefined) return what;
  what = '';
  const tag = (proto as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  if (typeof (proto as { then?: unknown }).then === 'function') what = 'a thenable';
  else if (typeof tag === 'string') what = `a built-in ${tag}`;
  for (let p: object | null = proto; !what && p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    const ctor = Object.getOwnPropertyDescriptor(p, 'constructor')?.value as unknown;
    if (typeof ctor === 'function' && nativeCode.test(Function.prototype.toString.call(ctor))) {
      what = `a built-in ${ctor.name || 'object'}`;
    }
  }
  byPrototype.set(proto, what);
  return what;
}

/**
 * Why `v`, an instance of an unregistered class whose prototype may be
 * plain data, is not (its own enumerable data properties are not all of
 * it), or undefined when it is. Private (#) fields cannot be seen from here.
 */
function notPlainData(v: object): string | undefined {
  for (const k of Reflect.ownKeys(v)) {
    if (typeof k === 'symbol') return `its property ${String(k)} is keyed by a symbol, which a copy would drop`;
    const d = Object.getOwnPropertyDescriptor(v, k)!;
    if (!('value' in d)) return `its own property '${k}' is an accessor (get/set), which a copy cannot carry`;
    if (!d.enumerable) return `its own property '${k}' is not enumerable, which a copy would drop`;
  }
  return undefined;
}

/**
 * Why an array, plain object or registered class instance with an own
 * symbol-keyed property (`key`, the first) is refused: structured clone
 * would drop the property.
 */
export function symbolKeyed(key: symbol): string {
  return `a symbol-keyed property (${String(key)}) cannot be copied to another thread: key it by a string, `
    + 'or send the object without it';
}

/**
 * Why an instance of `name`, a subclass of the built-in `base` (an Array,
 * Map, Set, Date, RegExp or boxed primitive), is refused: structured clone
 * keeps its contents and drops its class, and a registered class cannot
 * rebuild them, which are not its properties.
 */
export function builtinSubclass(name: string, base: string, ownKeys?: readonly string[]): string {
  if (ownKeys) {
    // (Under flattenInstances: v8 writes a Map, Set, Date or RegExp without its own properties.)
    return `an instance of ${name}, a subclass of ${base}, would arrive as a plain ${base} without its own properties `
      + `(${ownKeys.slice(0, 3).join(', ')}${ownKeys.length > 3 ? ', …' : ''}): send them beside it`;
  }
  return `an instance of ${name}, a subclass of ${base}, would arrive as a plain ${base}, its class lost: send a plain ${base} `
    + 'of its contents, or opt in with flattenInstances: true, on the call or the pool, to send it as one';
}

/**
 * Why a plain `base` (a Map, Set, Date, RegExp or boxed primitive) with an
 * own enumerable property (`key`, the first) is refused: v8 writes the
 * built-in without its properties (an array or plain object keeps them).
 */
export function builtinOwnProperty(base: string, key: string): string {
  return `a ${base} with own property '${key}', which would arrive without it: send the property beside the ${base} `
    + `(a plain object holding both, say), or a copy without it (new ${base}(value))`;
}

/** A private member a class declares (`#secret`), and the class that declares it. */
export interface PrivateMember { readonly member: string; readonly declaredBy: Function }

/** Per registered class: its first private member, or null. */
const privateByClass = new WeakMap<Function, PrivateMember | null>();
/** Per class met on the way up (a superclass of many registered ones is read once): what its own body declares. */
const declaredByClass = new WeakMap<Function, string>();

/**
 * The first non-static private member that class `C` or a superclass of
 * it declares, or null: an instance made on arrival from its prototype,
 * its constructor not run, lacks it, and reading it throws. Read from the
 * classes' source, once per class: a built-in's is `[native code]`, and
 * source that does not parse is taken to declare none.
 */
export function privateMemberOf(C: Function): PrivateMember | null {
  let found = privateByClass.get(C);
  if (found !== undefined) return found;
  found = null;
  for (let c: unknown = C; !found && typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    let member = declaredByClass.get(c as Function);
    if (member === undefined) {
      member = declaredPrivateMember(Function.prototype.toString.call(c));
      declaredByClass.set(c as Function, member);
    }
    if (member) found = { member, declaredBy: c as Function };
  }
  privateByClass.set(C, found);
  return found;
}

/** The first non-static private member (`#secret`) a class's source declares in its own body, or ''. */
function declaredPrivateMember(text: string): string {
  // (No `#` at all, the commonest case, needs no parser.)
  if (!text.startsWith('class') || !text.includes('#') || nativeCode.test(text)) return '';
  const members = (parsedClass(text)?.body as { body: AstNode[] } | undefined)?.body ?? [];
  const found = members.find((m) => !m.static && (m.key as AstNode | undefined)?.type === 'PrivateIdentifier');
  return found ? `#${String((found.key as AstNode).name)}` : '';
}

/**
 * The class expression that `text`, a class's source, parses to; undefined
 * if it does not parse. As a module first: a class of an ES module may
 * use `import.meta`, which a script cannot (helper-139's review).
 */
function parsedClass(text: string): AstNode | undefined {
  for (const sourceType of ['module', 'script'] as const) {
    try {
      const [statement] = parse(`(${text})`, { ecmaVersion: 'latest', sourceType }).body as AstNode[];
      const node = statement?.expression as AstNode | undefined;
      return node?.type === 'ClassExpression' ? node : undefined;
    } catch { /* the other way, or not at all */ }
  }
  return undefined;
}

/** Why an instance of the registered class `C`, which has private members, is refused. */
export function privateMembers(C: Function, { member, declaredBy }: PrivateMember): string {
  const where = declaredBy === C ? '' : `, declared by ${declaredBy.name ? `its superclass ${declaredBy.name}` : 'an anonymous superclass'}`;
  return `an instance of ${C.name || 'an anonymous class'} cannot cross: its class has private members (${member}${where}), `
    + 'which an instance made in another thread cannot have, since its constructor does not run there: keep the state '
    + 'that crosses in ordinary (string-keyed) properties, and the methods and accessors that use it public';
}

/** Why a plain object with an own `key`, the key of the walk's markers (values.ts MARKER), is refused. */
export function reservedKey(key: string): string {
  return `an own "${key}" property is reserved for reactor-threads' own markers: rename it`;
}

/** Built-ins that hold other objects weakly, by their identity on this thread. */
const weak: Function[] = [WeakMap, WeakSet, WeakRef, FinalizationRegistry];

/** What to do instead of sending `v`, for the built-ins people do send; undefined for the rest. */
function builtinAdvice(v: object, tag: unknown): string | undefined {
  if (v instanceof Promise) return 'a Promise is a value still to come: await it and pass its value';
  if (typeof (v as { then?: unknown }).then === 'function') {
    return 'a thenable (an object with a then method) is a value still to come: await it and pass its value';
  }
  if (v instanceof URL) return 'a URL would arrive as {}: pass url.href instead (new URL(href) in the thread makes it again)';
  if (v instanceof URLSearchParams) return 'a URLSearchParams would arrive as {}: pass params.toString() instead';
  const w = weak.find((C) => v instanceof C);
  if (w) {
    return `a ${w.name} holds objects weakly, by their identity on this thread, so it cannot be copied; `
      + 'send the values themselves';
  }
  if (typeof tag === 'string' && (tag === 'Generator' || tag === 'AsyncGenerator' || tag.endsWith('Iterator'))) {
    return `an iterator (${tag}) cannot be copied: collect its items into an array and pass that`;
  }
  return undefined;
}

/** The advice for an object no rule of the walk took, fitting what it is. */
export function refusal(v: object, proto: object, flatten: boolean): string {
  const special = builtinAdvice(v, (v as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag]);
  if (special) return special;
  const builtin = notPlainPrototype(proto);
  if (builtin) {
    return `${builtin} keeps its state outside its own properties, so it cannot be copied; `
      + 'send the plain data you need from it';
  }
  // (A prototype without a constructor of its own was not made by a class.)
  const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as { name?: unknown } | undefined;
  const name = typeof ctor?.name === 'string' ? ctor.name : '';
  const what = name ? `an instance of ${name}` : 'an object with an unusual prototype';
  const register = `register the class with threadable(${name || 'TheClass'}) if it is yours`;
  const why = notPlainData(v);
  if (flatten) return `${what} cannot cross as a plain object (flattenInstances): ${why!}; ${register}, or send plain data`;
  if (why !== undefined) {
    return `${what} would arrive as a plain object, its class lost: ${register} (flattenInstances cannot send it: ${why})`;
  }
  return `${what} would arrive as a plain object, its class lost: ${register} and it holds no private (#) members, `
    + 'which cannot cross; '
    + 'if it is plain data (a parser\'s AST node, say), opt in with flattenInstances: true, on the call or the pool, '
    + 'to send it as a plain object of its own properties';
}
