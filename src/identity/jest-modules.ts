// Under jest, a test file runs as its transform's output, not as its
// file: babel-jest's when the project has a babel configuration, ts-jest's
// for a TypeScript file when the project uses ts-jest. Its imports became
// `var _x = require("x")` (or interop helpers around it), and a function
// of it uses them as `(0, _x.name)`. Jest does not expose the text it ran,
// so, to follow a test file's threadable to its imports,
// import-bindings.ts asks for the same transform here, made with the
// project's own compiler and configuration: @babel/core with babel-jest's
// caller options, or TypeScript's transpileModule with the nearest
// tsconfig.json and CommonJS modules, as ts-jest's default is. The
// require() forms are then read as anywhere else (require-bindings.ts).
// That text is used only where it has the function's text (a
// configuration jest did not use makes other text); a failure to make it
// makes none. Caller's thread. Tests: test/test-runners.ts.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { typeScriptFile } from './typescript.js';

interface Babel {
  loadPartialConfig(options: object): { hasFilesystemConfig(): boolean } | null;
  transformSync(code: string, options: object): { code?: string | null } | null;
}

/** What babel-jest tells babel of itself: it runs CommonJS. */
const caller = {
  name: 'babel-jest', supportsDynamicImport: false, supportsStaticESM: false,
  supportsTopLevelAwait: false, supportsExportNamespaceFrom: false,
};

/** Whether jest runs this process's tests (a jest worker, or jest's `expect` in scope). */
export function underJest(): boolean {
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

/** What this module needs of TypeScript's compiler API. */
interface TypeScript {
  sys: { fileExists(path: string): boolean; readFile(path: string): string | undefined };
  ModuleKind: { CommonJS: number };
  findConfigFile(searchPath: string, fileExists: (path: string) => boolean): string | undefined;
  readConfigFile(path: string, readFile: (path: string) => string | undefined): { config?: unknown };
  parseJsonConfigFileContent(json: unknown, host: object, basePath: string): { options: Record<string, unknown> };
  transpileModule(input: string, options: { compilerOptions: Record<string, unknown>; fileName: string }): { outputText: string };
}

/** The text ts-jest ran for `file`, if jest runs, `file` is TypeScript and its project has ts-jest. */
export function tsJestText(file: string): string | undefined {
  if (!underJest() || !typeScriptFile.test(file)) return undefined;
  const require = createRequire(file);
  let ts: TypeScript;
  try {
    require.resolve('ts-jest');
    ts = require('typescript') as TypeScript;
  } catch {
    return undefined;
  }
  try {
    const config = ts.findConfigFile(dirname(file), ts.sys.fileExists);
    const options = config
      ? ts.parseJsonConfigFileContent(ts.readConfigFile(config, ts.sys.readFile).config, ts.sys, dirname(config)).options
      : {};
    const compilerOptions = { ...options, module: ts.ModuleKind.CommonJS, sourceMap: false, inlineSourceMap: false, declaration: false };
    return ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file }).outputText;
  } catch {
    return undefined;
  }
}
