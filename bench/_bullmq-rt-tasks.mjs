// The reactor-threads adapter's side of bench/bullmq.mjs: the job bodies
// as threadables, which cross to the worker by identity (module and name).
// The worker's `allow` list names this module, and both sides take bench/
// as their app root, so it is app:_bullmq-rt-tasks.mjs on the wire.
import { threadable } from 'reactor-threads';
import { add as addBody, spin as spinBody } from './_bullmq-tasks.mjs';

export const add = threadable(function add(a, b) { return addBody(a, b); });
export const spin = threadable(function spin(rounds) { return spinBody(rounds); });
