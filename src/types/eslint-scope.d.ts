// The slice of eslint-scope's API that src/identity/source.ts and
// src/identity/import-bindings.ts use (the package ships no types of its own).
declare module 'eslint-scope' {
  interface Node { type: string; start: number; end: number; [k: string]: unknown }
  export interface Reference {
    identifier: { name: string } & Node;
    /** The variable it names, once resolved in some scope; null for a global. */
    resolved: Variable | null;
    /** True on the write of a declaration's own initialiser. */
    init?: boolean;
    isWrite(): boolean;
  }
  export interface Definition {
    /** 'ImportBinding', 'Variable', 'FunctionName', 'ClassName', 'Parameter', 'CatchClause', … */
    type: string;
    /** ImportBinding: the specifier; Variable: the VariableDeclarator. */
    node: Node;
    /** ImportBinding: the ImportDeclaration; Variable: the VariableDeclaration. */
    parent: Node | null;
  }
  export interface Variable {
    name: string;
    defs: Definition[];
    references: Reference[];
    scope: Scope;
  }
  export interface Scope {
    type: string;
    through: Reference[];
    set: Map<string, Variable>;
    upper: Scope | null;
    childScopes: Scope[];
    /** The node that makes it (a Program for the top level). */
    block: Node;
  }
  export interface ScopeManager {
    globalScope: Scope | null;
    /** Every scope of the program. */
    scopes: Scope[];
    /** The outermost scope `node` makes (a named function expression's name scope, say). */
    acquire(node: object, inner?: boolean): Scope | null;
  }
  export function analyze(ast: object, options: {
    ecmaVersion: number; sourceType: 'script' | 'module';
    /** The whole script is a CommonJS module: its top-level names live in a function scope. */
    nodejsScope?: boolean;
  }): ScopeManager;
}
