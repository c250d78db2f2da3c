// Registers through register-helper.mts after a top-level await: its body
// runs from a microtask, not from Node's module loader (test/functions.ts).
import { registered } from './register-helper.mjs';

await Promise.resolve();
export const late = registered(function late(a: number): string { return `late:${a}`; });
