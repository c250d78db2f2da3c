// Under jest, a test file runs as babel-jest's transform of it when the
// project has a babel configuration: its imports became `var _x =
// require("x")` (or interop helpers around it), and a function of it uses
// them as `(0, _x.name)`. Jest does not expose the text it ran, so, to
// follow a test file's threadable to its imports, import-bindings.ts asks
// for the same transform here: the project's own @babel/core and
// configuration, with babel-jest's caller options (CommonJS modules). The
// require() forms are then read as anywhere else (require-bindings.ts).
// That text is used only where it has the function's text (a babel
// configuration jest did not use makes other text); a failure to make it
// makes none. Not ts-jest's transform. Caller's thread.
// Tests: test/test-runners.ts.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

interface Babel {
  loadPartialConfig(options: object): { hasFilesystemConfig(): boolean } | null;
  transformSync(code: string, options: object): { code?: string | null } | null;
}

/** What babel-jest tells babel of itself: it runs CommonJS. */
const caller = {
  name: 'babel-jest', supportsDynamicImport: false, supportsStaticESM: false,
  supportsTopLevelAwait: false, supportsExportNamespaceFrom: false,
};

function underJest(): boolean {
  return process.env.JEST_WORKER_ID !== undefined
    || typeof (globalThis as { expect?: { getState?: unknown } }).expect?.getState === 'function';
}

/** The text babel-jest ran for `file`, if jest runs and the file's project has a babel configuration. */
export function babelJestText(file: string): string | undefined {
  if (!underJest()) return undefined;
  let babel: Babel;
  try {
    babel = createRequire(file)('@babel/core') as Babel;
  } catch {
    return undefined;
  }
  const options = { filename: file, caller, compact: false, sourceMaps: false };
  try {
    if (!babel.loadPartialConfig(options)?.hasFilesystemConfig()) return undefined;
    return babel.transformSync(readFileSync(file, 'utf8'), options)?.code ?? undefined;
  } catch {
    return undefined;  // (A configuration that does not load is not what jest ran either.)
  }
}
