// A module whose own `URL` holds the global URL at first and another class
// later (test/functions.ts): one function object that uses it, sent before
// and after.
import { deferToThread } from 'reactor-threads';

// eslint-disable-next-line no-shadow-restricted-names
let URL = globalThis.URL;
const hrefOf = (s: string): string => new URL(s).href;

export const sendHrefOf = (s: string): Promise<string> => deferToThread(hrefOf, s);
export function replaceURL(): void {
  URL = class { href = 'not the global'; constructor(_s: string) {} } as unknown as typeof globalThis.URL;
}
