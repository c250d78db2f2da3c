// Thread: the values a sent function's import bindings (found by
// import-bindings.ts on the caller) stand for, imported or required again
// in this thread as the defining module did. Tests: test/import-bindings.ts,
// test/bundlers.ts.
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FunctionNotSendableError } from '../errors/errors.js';
import { importURL } from './specifiers.js';
import { loadsTypeScript, typeScriptRequireAdvice } from './typescript.js';
import type { ImportBinding, RequireInterop } from '../base/wire.js';

/** Thread: the value of each binding, in order; a FunctionNotSendableError names one that cannot be loaded. */
export async function bindingValues(bindings: readonly ImportBinding[], label: string): Promise<unknown[]> {
  return await Promise.all(bindings.map(async (b) => {
    try {
      return await valueOf(b);
    } catch (e) {
      const from = 'url' in b ? b.url : `require('${b.specifier}') in ${b.base}`;
      throw new FunctionNotSendableError(`cannot load ${from} in the thread for '${b.name}' of ${label}`, e);
    }
  }));
}

async function valueOf(b: ImportBinding): Promise<unknown> {
  switch (b.kind) {
    case 'namespace':
      return await importURL(b.url, b.attributes && { with: b.attributes });
    case 'default':
    case 'named': {
      const ns = await importURL(b.url, b.attributes && { with: b.attributes });
      const exportName = b.kind === 'default' ? 'default' : b.exportName;
      // As the module's own import would have failed to link.
      if (!(exportName in ns)) throw new SyntaxError(`${b.url} does not provide an export named '${exportName}'`);
      return ns[exportName];
    }
    case 'module':
      return interop(await required(b.specifier, b.base), b.interop);
    case 'property':
      return (interop(await required(b.specifier, b.base), b.interop) as Record<string, unknown>)[b.property];
  }
}

/** require(specifier) as the module `base` makes it; a TypeScript file (requireSpecifier) with this thread's loader for it. */
async function required(specifier: string, base: string): Promise<unknown> {
  if (!isAbsolute(specifier)) return createRequire(base)(specifier);
  await loadsTypeScript(pathToFileURL(specifier).href);
  try {
    return createRequire(base)(specifier);
  } catch (e) {
    const advice = typeScriptRequireAdvice(specifier, e);
    if (advice && e instanceof Error) e.message = advice;
    throw e;
  }
}

/** What a compiler's interop helper makes of a module object (see RequireInterop). */
function interop(mod: unknown, how: RequireInterop | undefined): unknown {
  if (!how) return mod;
  const esModule = (typeof mod === 'object' || typeof mod === 'function') && mod !== null
    && (mod as { __esModule?: unknown }).__esModule;
  if (esModule && how !== 'namespace-node') return mod;
  if (how === 'default') return { default: mod };
  const ns: Record<string, unknown> = {};
  if ((typeof mod === 'object' || typeof mod === 'function') && mod !== null) {
    for (const key of Object.getOwnPropertyNames(mod)) {
      if (key !== 'default') Object.defineProperty(ns, key, { get: () => (mod as Record<string, unknown>)[key], enumerable: true });
    }
  }
  ns.default = mod;
  return ns;
}
