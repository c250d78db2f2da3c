// tinypool worker: named exports, task = args array.
import { Tinypool } from 'tinypool';
import { threadId } from 'node:worker_threads';
import { add as addBody, cpu as cpuBody, record as recordBody } from './_tasks.mjs';

export const add = ([a, b]) => addBody(a, b);
export const record = ([r]) => recordBody(r);
export const cpu = ([n]) => cpuBody(n);
export const echo = (buf) => Tinypool.move(buf);
// warm-up only: cpu(n), then say which thread ran it.
export const warm = ([n]) => (cpuBody(n), threadId);
