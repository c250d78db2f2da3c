// An application's helper that registers other modules' functions
// (test/functions.ts): threadable() is called here, for them.
import { threadable } from 'reactor-threads';

export const registered = <F extends Function>(f: F): F => threadable(f);
