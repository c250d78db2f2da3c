// TypeScript task modules in a thread that nothing else lets load them:
// the process runs TypeScript by its own means (vitest and jest transform
// it in process, with no Node loader a thread could inherit), or a task
// names a `.ts` module in a plain JavaScript program, on a Node that does
// not strip types (before 22.18). Before such a thread first imports a
// `.ts`, `.mts` or `.cts` module, it registers tsx (`tsx/esm/api` and
// `tsx/cjs/api`), found from that module's project, if it is installed
// there. Before, not after a failure: Node keeps a module that failed to
// load as failed. Not when a TypeScript loader is among the thread's
// preloads (tsx, ts-node, ...), which loads them already. Thread side.
// Tests: test/test-runners.ts.
import { fileURLToPath } from 'node:url';
import { loaderModules } from './loaders.js';

/** A TypeScript source's name. */
export const typeScriptFile = /\.[cm]?tsx?$/;
/** Preloads that load TypeScript themselves. */
const typeScriptLoader = /(^|[\\/@])(tsx|ts-node|swc-node|esbuild-register|esbuild-kit|jiti)([\\/]|$)|@babel[\\/]register/;

/** The lookup of tsx under way, and from which module; undefined once one failed. */
let registering: { from: string; registered: Promise<boolean> } | undefined;

function needsLoader(): boolean {
  if ((process.features as { typescript?: unknown }).typescript) return false;
  return !loaderModules().some((m) => typeScriptLoader.test(m));
}

/** Before importing `url`: a TypeScript loader is registered in this thread if it needs one and tsx is at hand. */
export async function loadsTypeScript(url: string): Promise<void> {
  if (!url.startsWith('file:') || !typeScriptFile.test(new URL(url).pathname)) return;
  if (!needsLoader()) return;
  for (;;) {
    const attempt = registering ??= { from: url, registered: registerTsxFrom(url) };
    // (Else another project's module had no tsx; this one's may: look from here.)
    if (await attempt.registered || attempt.from === url) return;
  }
}

/** Registers tsx as found from `url`'s project; false (and nothing kept) when it has none. */
async function registerTsxFrom(url: string): Promise<boolean> {
  const { resolve } = await import('import-meta-resolve');
  let apis: string[];
  try {
    apis = [resolve('tsx/esm/api', url), resolve('tsx/cjs/api', url)];
  } catch {
    // No tsx there: the import fails, with advice; a module of another
    // project, which may have tsx, tries again.
    registering = undefined;
    return false;
  }
  try {
    for (const api of apis) ((await import(api) as { register(): unknown }).register)();
  } catch (e) {
    registering = undefined;  // (A later module may try again.)
    throw e;
  }
  return true;
}

/** Advice for an import that failed because this thread cannot load TypeScript. */
export function typeScriptAdvice(error: unknown): string | undefined {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') return undefined;
  const m = /for (\S+\.[cm]?tsx?)$/.exec((error as Error).message ?? '');
  if (!m) return undefined;
  return adviceFor(m[1]!.startsWith('file:') ? fileURLToPath(m[1]!) : m[1]!);
}

/**
 * Advice for a require() of the TypeScript file `file` that failed in this
 * thread because nothing loads TypeScript here: require() reads a `.ts`
 * file as JavaScript, so its types are a SyntaxError, not an unknown
 * extension as for an import.
 */
export function typeScriptRequireAdvice(file: string, error: unknown): string | undefined {
  if (!typeScriptFile.test(file) || !(error instanceof SyntaxError) || !needsLoader() || registering) return undefined;
  return adviceFor(file);
}

function adviceFor(file: string): string {
  return `a thread cannot load the TypeScript module ${file}: `
    + 'install tsx in its project (npm install --save-dev tsx), run the program under tsx, or use Node 22.18 or later, which strips types itself';
}
