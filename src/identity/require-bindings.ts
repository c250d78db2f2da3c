// The require() forms a module may bind a name with, for
// import-bindings.ts: `const x = require('m')`, `const { a, b: c } =
// require('m')`, `require('m').a`, and the interop helpers compilers wrap
// them in (esbuild's `__toESM`, TypeScript's `__importDefault` and
// `__importStar`, Babel's), even once a minifier renamed the helpers.
// Caller's thread. Tests: test/import-bindings.ts, test/bundlers.ts.
import type * as EslintScope from 'eslint-scope';
import { isFunction, keyName, lookUp, type AstNode } from './parsers.js';
import { requireSpecifier } from './specifiers.js';
import type { ImportBinding, RequireInterop } from '../base/wire.js';

interface Required { specifier: string; interop?: RequireInterop; property?: string }

/**
 * The binding of `name`, declared by `declarator` in `scope` of the module
 * `url` (whose text is `text`), when it is a require() form; else undefined.
 */
export function requireBinding(url: string, text: string, name: string, scope: EslintScope.Scope,
  declarator: AstNode): ImportBinding | undefined {
  const id = declarator.id as AstNode;
  const init = declarator.init as AstNode | null;
  const r = init ? requireOf(text, scope, init) : undefined;
  if (!r) return undefined;
  const bind = (property: string | undefined): ImportBinding => {
    const specifier = requireSpecifier(r.specifier, url);
    const common = r.interop ? { name, specifier, base: url, interop: r.interop } : { name, specifier, base: url };
    return property === undefined ? { kind: 'module', ...common } : { kind: 'property', ...common, property };
  };
  if (id.type === 'Identifier') return bind(r.property);
  if (id.type !== 'ObjectPattern' || r.property !== undefined) return undefined;
  for (const p of id.properties as AstNode[]) {
    const value = p.value as AstNode | undefined;
    if (p.type === 'Property' && !p.computed && value?.type === 'Identifier' && value.name === name) return bind(keyName(p.key as AstNode));
  }
  return undefined;
}

/** Interop helpers by name, and what each makes of a module object. */
const interopHelpers: Record<string, RequireInterop> = {
  __importDefault: 'default', _interopRequireDefault: 'default',
  __importStar: 'namespace', _interopRequireWildcard: 'namespace', __toESM: 'namespace',
};

/** `require('m')`, a helper around it, or a property of either. */
function requireOf(text: string, scope: EslintScope.Scope, e: AstNode): Required | undefined {
  if (e.type === 'MemberExpression') {
    const inner = requireOf(text, scope, e.object as AstNode);
    const p = e.property as AstNode;
    const property = !e.computed && p.type === 'Identifier' ? String(p.name)
      : e.computed && typeof p.value === 'string' ? p.value : undefined;
    return inner && inner.property === undefined && property !== undefined ? { ...inner, property } : undefined;
  }
  if (e.type !== 'CallExpression' || (e.callee as AstNode).type !== 'Identifier') return undefined;
  const callee = String((e.callee as AstNode).name);
  const args = e.arguments as AstNode[];
  if (callee === 'require') {
    const s = args[0];
    return args.length === 1 && s?.type === 'Literal' && typeof s.value === 'string' && isNodeRequire(scope) ? { specifier: s.value } : undefined;
  }
  const helper = interopHelpers[callee] ?? helperByShape(text, scope, callee);
  const inner = helper && args[0] ? requireOf(text, scope, args[0]) : undefined;
  if (!inner || inner.interop || inner.property !== undefined) return undefined;
  // esbuild's and Babel's second argument: the importer is in Node's mode
  // (an .mjs file), where `default` is the module object even for one
  // that says __esModule.
  return { specifier: inner.specifier, interop: helper === 'namespace' && isTruthyConstant(args[1]) ? 'namespace-node' : helper };
}

/**
 * A minifier renames the helpers (esbuild's `__toESM` becomes `i`): a
 * function of the module that tests `__esModule` is one, and the one that
 * makes `{ default: m }` is `__importDefault`'s kind.
 */
function helperByShape(text: string, scope: EslintScope.Scope, name: string): RequireInterop | undefined {
  const v = lookUp(scope, name);
  const def = v?.defs.length === 1 ? v.defs[0]! : undefined;
  let fn = def?.type === 'FunctionName' ? def.node : def?.type === 'Variable' ? def.node.init as AstNode | null : undefined;
  // TypeScript's `var __importDefault = (this && this.__importDefault) || function (mod) { … }`
  if (fn?.type === 'LogicalExpression') fn = fn.right as AstNode;
  if (!isFunction(fn)) return undefined;
  const body = text.slice(fn.start, fn.end);
  if (!body.includes('__esModule')) return undefined;
  return /\{\s*["']?default["']?\s*:\s*[\w$]+\s*\}/.test(body) ? 'default' : 'namespace';
}

/** `1`, `true`, or a minifier's `!0`. */
function isTruthyConstant(node: AstNode | undefined): boolean {
  if (node?.type === 'Literal') return Boolean(node.value);
  return node?.type === 'UnaryExpression' && node.operator === '!' && (node.argument as AstNode).type === 'Literal'
    && !(node.argument as AstNode).value;
}

/** Whether `require` seen from `scope` is CommonJS's own, or `createRequire(import.meta.url)`. */
function isNodeRequire(scope: EslintScope.Scope): boolean {
  const v = lookUp(scope, 'require');
  if (!v) return true;
  const init = v.defs.length === 1 && v.defs[0]!.type === 'Variable' ? v.defs[0]!.node.init as AstNode | null : null;
  const arg = init?.type === 'CallExpression' ? (init.arguments as AstNode[])[0] : undefined;
  return arg?.type === 'MemberExpression' && (arg.object as AstNode).type === 'MetaProperty'
    && String((arg.property as AstNode).name) === 'url';
}
