// Registers its functions through register-helper.mts (test/functions.ts).
import { threadable } from 'reactor-threads';
import { registered, shared } from './register-helper.mjs';

export const task = registered(function task(a: number): string { return `X:${a}`; });
export const direct = threadable(function direct(): string { return 'X direct'; });
export const sharedHere = registered(shared);
export const ownAnonymous = threadable((): string => 'X anonymous');
