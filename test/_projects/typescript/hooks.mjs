// Module hooks that serve one virtual module, registered at run time by
// register-hooks.mjs: a thread sees them only if it registers them too.
export async function resolve(specifier, context, next) {
  if (specifier === 'virtual:answer') return { url: 'virtual:answer', shortCircuit: true };
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (url === 'virtual:answer') {
    return { format: 'module', source: 'export function answer() { return 42; }', shortCircuit: true };
  }
  return next(url, context);
}
