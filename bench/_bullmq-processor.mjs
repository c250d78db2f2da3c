// The processor file of bench/bullmq.mjs's sandboxed contender: BullMQ
// loads it in each of its worker threads (useWorkerThreads: true).
import { add, spin } from './_bullmq-tasks.mjs';

export default async function processJob(job) {
  return job.name === 'spin' ? spin(job.data.rounds) : add(job.data.a, job.data.b);
}
