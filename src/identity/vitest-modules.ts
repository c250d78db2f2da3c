// Under vitest, a module runs as vite's transform of it, not as the file
// on disk: its imports became `const __vite_ssr_import_N__ = await
// __vite_ssr_import__("<id>", …)`, and a function of it uses them as
// `__vite_ssr_import_N__.name`. To follow a test file's threadable to its
// imports, import-bindings.ts reads the transformed text that vitest keeps
// (its worker state's evaluated modules) and takes each such declaration
// as a namespace import of the module vite named: `/@fs/<absolute path>`,
// `/<path under the project root>`, or a Node specifier. Caller's thread.
// Tests: test/test-runners.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AstNode } from './parsers.js';
import { resolveLater } from './specifiers.js';
import type { ImportBinding } from '../base/wire.js';

interface VitestWorker {
  config?: { root?: string };
  evaluatedModules?: { fileToModulesMap?: Map<string, Iterable<{ meta?: { code?: unknown } }>> };
}

function worker(): VitestWorker | undefined {
  return (globalThis as { __vitest_worker__?: VitestWorker }).__vitest_worker__;
}

/** The text vitest ran for `file`, if vitest ran it. */
export function transformedText(file: string): string | undefined {
  for (const node of worker()?.evaluatedModules?.fileToModulesMap?.get(file) ?? []) {
    if (typeof node.meta?.code === 'string') return node.meta.code;
  }
  return undefined;
}

/** The binding `declarator` makes of `name` in vite's transform of the module `url`, if it is an import. */
export function viteImportBinding(url: string, name: string, declarator: AstNode): ImportBinding | undefined {
  const init = declarator.init as AstNode | null;
  const call = init?.type === 'AwaitExpression' ? init.argument as AstNode : undefined;
  const callee = call?.callee as AstNode | undefined;
  const [first] = (call?.arguments as AstNode[] | undefined) ?? [];
  if (callee?.type !== 'Identifier' || callee.name !== '__vite_ssr_import__' || first?.type !== 'Literal' || typeof first.value !== 'string') {
    return undefined;
  }
  return { kind: 'namespace', name, url: moduleURL(first.value, url) };
}

/** A module id as vite wrote it, as a URL the thread can import. */
function moduleURL(id: string, importer: string): string {
  if (id.startsWith('/@fs/')) {
    // On Windows vite writes `/@fs/C:/...`: the path is what follows the slash.
    const path = id.slice('/@fs'.length);
    return pathToFileURL(/^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path).href;
  }
  if (id.startsWith('/')) {
    const root = worker()?.config?.root;
    const underRoot = root ? join(root, id) : undefined;
    return pathToFileURL(underRoot && existsSync(underRoot) ? underRoot : id).href;
  }
  return resolveLater(id, importer, `import '${id}'`);
}
