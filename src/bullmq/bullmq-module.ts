// bullmq is an optional peer dependency: the core package never loads it,
// and reactor-threads/bullmq loads it here, once, with an error that says
// how to install it. Caller's thread and the worker's main thread.
import type * as BullMQ from 'bullmq';

let loaded: typeof BullMQ | undefined;

export function bullmq(): typeof BullMQ {
  if (!loaded) {
    try {
      loaded = require('bullmq') as typeof BullMQ;
    } catch (e) {
      throw new Error('reactor-threads/bullmq needs the bullmq package: npm install bullmq', { cause: e });
    }
  }
  return loaded;
}
