// Registers its functions through register-helper.mts (test/functions.ts).
import { threadable } from 'reactor-threads';
import { registered, shared } from './register-helper.mjs';

export const task = registered(function task(a: number): string { return `Y:${a}`; });
export const direct = threadable(function direct(): string { return 'Y direct'; });
export const sharedHere = registered(shared);
export const ownAnonymous = threadable((): string => 'Y anonymous');
