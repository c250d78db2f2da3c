// Node's own timers, taken from the timers module as this package loads.
// A task's code, or a test framework's fake timers (jest, vitest, sinon),
// may replace the global ones later, and fakes drop what was queued on
// them when they are uninstalled: the library's own scheduling must not
// stop with them (a pool thread that steps back to its loop between
// batches resumes on an Immediate, and waited for good on a fake one).
// (Fakes installed before this loads may have replaced the module's too:
// reactor/core.ts says how its waits survive that.)
import * as timers from 'node:timers';

export const realSetImmediate = timers.setImmediate;
export const realSetTimeout = timers.setTimeout;
export const realClearTimeout = timers.clearTimeout;
