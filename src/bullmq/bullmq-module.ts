// bullmq is an optional peer dependency: the core package never loads it,
// and reactor-threads/bullmq loads it here, once, with an error that says
// how to install it. The error names ioredis too: BullMQ 6 loads it for
// connection options such as ours ({ host, port } or { url }), and has it
// as an optional peer of its own. Caller's thread and the worker's main
// thread. Tests: scripts/test-install.mjs (a consumer without bullmq).
import type * as BullMQ from 'bullmq';

let loaded: typeof BullMQ | undefined;

export function bullmq(): typeof BullMQ {
  if (!loaded) {
    try {
      loaded = require('bullmq') as typeof BullMQ;
    } catch (e) {
      throw new Error('reactor-threads/bullmq needs the bullmq package: npm install bullmq ioredis', { cause: e });
    }
  }
  return loaded;
}
