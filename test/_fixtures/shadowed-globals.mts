// Plain functions whose text uses a global's name that their module, or a
// scope around them, declares (test/functions.ts): in a thread the name
// would mean the global.
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { deferToThread } from 'reactor-threads';
import { runTask } from './send-helper.mjs';

const escape = (s: string): string => s.toUpperCase();
const crypto = { randomUUID: (): string => 'this module\'s own' };

export const sendsModuleEscape = (): Promise<string> => deferToThread((s: string) => escape(s), 'a b');

export const sendsParameterPerformance = (): Promise<unknown> =>
  deferToThread(((performance: number) => () => performance)(42));

export function sendsBlockURL(): Promise<unknown> {
  {
    const URL = 'not the global';
    return deferToThread(() => URL);
  }
}

/** The same text as sendsModuleEscape's function, from a place where escape is the global. */
export const sendsGlobalsOnly = (): Promise<string> =>
  deferToThread((s: string) => encodeURIComponent(s) + String(Math.max(1, 2)), 'a b');

/** Globals imported under their own names: the globals themselves, which a thread has. */
export const sendsImportedGlobals = (): Promise<number> =>
  deferToThread(() => Buffer.from('ab').length + (typeof process.pid === 'number' ? 1 : 0));

/** Through an application's helper: the same text as global-crypto.mts's function, whose `crypto` is the global. */
export const viaHelperShadowed = (): Promise<string> => runTask(() => crypto.randomUUID());
