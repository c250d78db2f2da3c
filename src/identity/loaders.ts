// The loaders this process runs: the modules its options preload
// (`--import`, `--require`, `--loader` in execArgv or NODE_OPTIONS), which
// register module hooks. Read by the owner, to decide what its threads
// must register themselves (src/pool/preloads.ts), and by a thread, to
// decide whether it may register a TypeScript loader of its own
// (src/identity/typescript.ts). Runs on every thread. Tests: test/preloads.ts.

/** Flags whose value names a module that registers hooks or runs first. */
const loaderFlags = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/** The modules that this process's options preload, in order. */
export function preloadedModules(execArgv: readonly string[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const eq = arg.indexOf('=');
    if (eq > 0 && loaderFlags.has(arg.slice(0, eq))) found.push(arg.slice(eq + 1));
    else if (loaderFlags.has(arg) && i + 1 < execArgv.length) found.push(execArgv[++i]!);
  }
  return found;
}

/**
 * NODE_OPTIONS as arguments, split as Node splits it: spaces outside
 * double quotes separate, quotes group anywhere in an argument, and a
 * backslash inside quotes escapes the next character.
 */
export function nodeOptionsArgs(value: string | undefined): string[] {
  const args: string[] = [];
  let arg: string | undefined;
  let quoted = false;
  for (let i = 0; i < (value?.length ?? 0); i++) {
    const c = value![i]!;
    if (quoted && c === '\\' && i + 1 < value!.length) arg = (arg ?? '') + value![++i];
    else if (c === '"') { quoted = !quoted; arg ??= ''; }
    else if (c === ' ' && !quoted) { if (arg !== undefined) args.push(arg); arg = undefined; }
    else arg = (arg ?? '') + c;
  }
  if (arg !== undefined) args.push(arg);
  return args;
}

/** The modules this thread's options and NODE_OPTIONS preload, in order. */
export function loaderModules(): string[] {
  return [...preloadedModules(process.execArgv), ...preloadedModules(nodeOptionsArgs(process.env.NODE_OPTIONS))];
}
