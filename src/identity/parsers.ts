// acorn and eslint-scope, loaded on first use, and the few helpers over
// their trees that the source checks share. They cost a few ms of
// start-up: a caller that sends a function as source needs both; any
// thread, acorn alone, the first time a value it sends holds an instance
// of a registered class whose source has a `#` (a private member, which
// cannot cross: src/codec/refusals.ts). Used by source.ts,
// import-bindings.ts, require-bindings.ts, bundle-origins.ts and
// src/codec/refusals.ts.
import type * as Acorn from 'acorn';
import type * as EslintScope from 'eslint-scope';

/** An ESTree node as acorn makes it (offsets into the parsed text). */
export interface AstNode { type: string; start: number; end: number; [k: string]: unknown }

let acorn: typeof Acorn | undefined;
let eslintScope: typeof EslintScope | undefined;

export function parse(code: string, options: Acorn.Options): AstNode {
  acorn ??= require('acorn') as typeof Acorn;
  return acorn.parse(code, options) as unknown as AstNode;
}

export function analyze(ast: object, options: Parameters<typeof EslintScope.analyze>[1]): EslintScope.ScopeManager {
  eslintScope ??= require('eslint-scope') as typeof EslintScope;
  return eslintScope.analyze(ast, options);
}

export function isNode(v: unknown): v is AstNode {
  return typeof v === 'object' && v !== null && typeof (v as AstNode).type === 'string';
}

const functionTypes = new Set(['FunctionExpression', 'FunctionDeclaration', 'ArrowFunctionExpression']);
export function isFunction(node: AstNode | null | undefined): node is AstNode {
  return !!node && functionTypes.has(node.type);
}

/** The variable `name` means in `scope`, declared there or in a scope around it. */
export function lookUp(scope: EslintScope.Scope, name: string): EslintScope.Variable | undefined {
  for (let s: EslintScope.Scope | null = scope; s; s = s.upper) {
    const v = s.set.get(name);
    if (v) return v;
  }
  return undefined;
}

/** An identifier's name, or a string literal's value (`import { 'a-b' as x }`). */
export function keyName(node: AstNode): string {
  return node.type === 'Identifier' ? String(node.name) : String(node.value);
}
