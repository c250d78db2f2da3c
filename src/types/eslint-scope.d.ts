// The slice of eslint-scope's API that src/identity/source.ts uses (the package
// ships no types of its own).
declare module 'eslint-scope' {
  export interface Reference { identifier: { name: string } }
  export interface Scope { through: Reference[] }
  export interface ScopeManager { globalScope: Scope | null }
  export function analyze(ast: object, options: { ecmaVersion: number; sourceType: 'script' | 'module' }): ScopeManager;
}
