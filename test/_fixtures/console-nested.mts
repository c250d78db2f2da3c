// Blocks in blockingCallInThread on a task that runs a task printing
// `kb` KiB, then a line 20 ms later, on a pool of its own thread's (test/console-order.ts): the
// nested thread's output passes through a pool thread whose owner (this
// thread) is parked, and so does not read it. Prints the output on stdout,
// and on stderr the result and how long the call took.
import { blockingCallInThread } from 'reactor-threads';
import { printKiBNested } from './console-order-tasks.cjs';

const kb = Number(process.argv[2] ?? '2000');
const started = performance.now();
const value = blockingCallInThread.with({ timeout: 30_000 })(printKiBNested, kb);
process.stderr.write(`returned ${value} in ${Math.round(performance.now() - started)} ms\n`);
