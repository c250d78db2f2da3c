// An application's helper that registers other modules' functions
// (test/functions.ts): threadable() is called here, for them.
import { threadable } from 'reactor-threads';

export const registered = <F extends Function>(f: F): F => threadable(f);
/** A function of the helper's own, which several modules register through it. */
export const shared = [(): string => 'shared'][0]!;
