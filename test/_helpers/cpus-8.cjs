// A --require preload that makes this process report 8 CPUs: os.cpus()
// has 8 entries and os.availableParallelism() returns 8, in CommonJS and
// in ES modules (named imports of node:os included). Run the suite with it
// (npm run test:cpus8) to catch tests that assume the machine's core
// count. Through NODE_OPTIONS it reaches every thread and child process
// that inherits the environment: ava's worker threads, pool threads, and
// the fixtures' child processes; a Worker given an `env` of its own reads
// NODE_OPTIONS from that env instead. npm run test:cpus8 also sets
// REACTOR_THREADS_TEST_CPUS=8, which test/threadpool-sizing.ts checks
// against what each thread reports.
'use strict';
const os = require('node:os');
const { syncBuiltinESMExports } = require('node:module');

const CPUS = 8;
const realCpus = os.cpus;
os.availableParallelism = function availableParallelism() { return CPUS; };
os.cpus = function cpus() {
  const real = realCpus();
  const model = real[0] ?? { model: 'unknown', speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } };
  return Array.from({ length: CPUS }, (_, i) => ({ ...(real[i] ?? model), times: { ...(real[i] ?? model).times } }));
};
syncBuiltinESMExports();
