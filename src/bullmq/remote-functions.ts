// Which functions may cross machines, and how: a threadable function or a
// module's export, by its module (named portably) and its name. A plain
// function would travel as source text for the worker to compile: a queue
// that accepted that would run whatever its writers sent, so it is refused.
// The caller names the function (portableFunction); the worker checks the
// name against its allow list and finds it on its own disk (localFunction).
// Caller's thread and the worker's main thread. Tests: test/bullmq-identity.ts.
import { describe } from '../identity/functions.js';
import { FunctionNotSendableError } from '../errors/errors.js';
import type { FunctionDescriptor } from '../base/wire.js';
import { toPortable, type AllowList, type PortableResolver } from './portable.js';
import type { PortableFunction } from './remote-codec.js';

/** A function found by its module: a threadable, or an export. */
export type ModuleDescriptor = Extract<FunctionDescriptor, { kind: 'threadable' | 'export' }>;

/** Caller: `f` named for another machine. Throws a FunctionNotSendableError saying why it cannot be. */
export function portableFunction(f: unknown, root: string): { fn: PortableFunction; label: string } {
  const d = describe(f);
  switch (d.kind) {
    case 'threadable':
      return { fn: { k: 't', m: toPortable(d.url, root), n: d.key.slice(d.url.length + 1) }, label: d.label };
    case 'export':
      return { fn: { k: 'e', m: toPortable(d.url, root), n: d.exportName }, label: d.label };
    default:
      throw new FunctionNotSendableError(`${d.label} cannot be sent to a remote pool: only a function marked with `
        + 'threadable() in a module its workers can import, or a fromModule() reference, crosses machines (a plain '
        + 'function would travel as source text, and a queue must never run code its workers did not choose)');
  }
}

/** Worker: the descriptor of a portable function on this machine. Throws a ModuleNotAllowedError unless `allow` lists its module. */
export function localFunction(fn: PortableFunction, label: string, allow: AllowList, local: PortableResolver): ModuleDescriptor {
  if (typeof fn !== 'object' || fn === null || typeof fn.m !== 'string' || typeof fn.n !== 'string' || (fn.k !== 't' && fn.k !== 'e')) {
    throw new FunctionNotSendableError('the job names no function in a form this worker reads');
  }
  allow.check(fn.m);
  const url = local.url(fn.m);
  return fn.k === 't'
    ? { kind: 'threadable', url, key: `${url}#${fn.n}`, label }
    : { kind: 'export', url, exportName: fn.n, label };
}
