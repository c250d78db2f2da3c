// poolifier ThreadWorker: task functions by name, data = args array.
import { threadId } from 'node:worker_threads';
import { ThreadWorker } from 'poolifier';
import { add as addBody, cpu as cpuBody, record as recordBody } from './_tasks.mjs';

export default new ThreadWorker({
  add: ([a, b]) => addBody(a, b),
  record: ([r]) => recordBody(r),
  cpu: ([n]) => cpuBody(n),
  // poolifier's worker side posts responses without a transferList, so the
  // result is structured-cloned back (see transfers = false in poolifier.mjs).
  echo: (buf) => buf,
  warm: ([n]) => (cpuBody(n), threadId), // warm-up only
});
