// The public types of what a task may run. This folder declares every type
// the package's declarations show a consumer, in terms of the ECMAScript
// library alone: index.ts gives each export one of them, so a consumer's
// type-check needs neither @types/node nor the DOM library.
// Tests: scripts/test-install.mjs (a consumer with `"types": []`),
// test/_types/.

/** Any function a thread can run. */
export type AnyFunction = (...args: never) => unknown;

/**
 * A reference to an export of a module, made by fromModule(). Usable
 * wherever a task function is; `F` types its arguments and result.
 */
export interface ModuleFunction<F extends AnyFunction = (...args: unknown[]) => unknown> {
  readonly specifier: string;
  readonly exportName: string;
  /** Type-only: the function this reference stands for. */
  readonly __function?: F;
}

/** What a task may name: a function, or a module reference. */
export type TaskFunction<F extends AnyFunction = AnyFunction> = F | ModuleFunction<F>;
