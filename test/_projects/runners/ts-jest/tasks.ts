// A module of threadables, imported by the thread itself.
import { threadable } from 'reactor-threads';

export const shout = threadable(function shout(s: string): string { return `${s.toUpperCase()}!`; });
