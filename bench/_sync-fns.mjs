// The function each library runs in the "sync" workload: x + 1, async as
// synckit and make-synchronized require it to be.
import { threadable } from '../dist/index.js';

export async function inc(x) { return x + 1; }
export const incInThread = threadable(inc);
