// Sends, through an application's helper, a function whose `crypto` is the
// global (test/functions.ts): the same text as one in shadowed-globals.mts
// whose `crypto` is that module's own.
import { runTask } from './send-helper.mjs';

export const viaHelperGlobal = (): Promise<string> => runTask(() => crypto.randomUUID());
