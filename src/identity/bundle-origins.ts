// Which package a bundler inlined a declaration from, read from the
// comments bundlers leave where each source file begins (esbuild's
// `// node_modules/acorn/dist/acorn.mjs`, webpack's `;// ./main.mjs`) and
// from the module paths a bundle keeps as strings. A threadable that uses
// such a name cannot import it again in a thread: the error names the
// package to mark external. Caller's thread. Tests: test/import-bindings.ts,
// test/bundlers.ts.
import type * as EslintScope from 'eslint-scope';
import { isNode, lookUp } from './parsers.js';

/** Where a concatenated source file begins in a bundle, and its path. */
export interface FileMarker { at: number; path: string }

const fileMarker = /^\s*((?:\.{1,2}\/)*[\w@$+~-][\w@$.+~-]*(?:\/[\w@$.+~-]+)*\.(?:[cm]?[jt]sx?|json))\s*$/;

/** The path a line comment names, if it is a bundler's file marker. */
export function markedPath(comment: string): string | undefined {
  return fileMarker.exec(comment)?.[1];
}

/** The package whose file holds offset `at`, when a bundler inlined one there. */
export function packageAt(markers: readonly FileMarker[], at: number): string | undefined {
  let path: string | undefined;
  for (const m of markers) {
    if (m.at > at) break;
    path = m.path;
  }
  return path === undefined ? undefined : packageOfPath(path);
}

function packageOfPath(path: string): string | undefined {
  const i = path.lastIndexOf('node_modules/');
  if (i < 0) return undefined;
  const [first, second] = path.slice(i + 'node_modules/'.length).split('/');
  return first?.startsWith('@') && second ? `${first}/${second}` : first;
}

/**
 * The package a variable's initialiser draws from, when the bundle
 * inlined it: esbuild's `__toESM(require_acorn())` calls a function
 * declared in the package's file; webpack's `__webpack_require__()` names
 * the package's path.
 */
export function packageOfInit(markers: readonly FileMarker[], scope: EslintScope.Scope, def: EslintScope.Definition): string | undefined {
  let found: string | undefined;
  const visit = (node: unknown, depth: number): void => {
    if (found || depth > 4 || !isNode(node)) return;
    if (node.type === 'Literal' && typeof node.value === 'string') found = packageOfPath(node.value);
    if (node.type === 'Identifier') {
      const declared = lookUp(scope, String(node.name))?.defs[0];
      if (declared) found = packageAt(markers, declared.node.start);
    }
    if (node.type === 'CallExpression' || node.type === 'MemberExpression') {
      for (const k of ['callee', 'object', 'arguments']) {
        const child = node[k];
        for (const c of Array.isArray(child) ? child : [child]) visit(c, depth + 1);
      }
    }
  };
  if (def.type === 'Variable') visit(def.node.init, 0);
  return found;
}
