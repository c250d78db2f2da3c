// reactor-threads' side of the shared tasks: threadables, found by identity.
import { threadable, transfer } from 'reactor-threads';
import { add as addBody, cpu as cpuBody, record as recordBody } from './_tasks.mjs';

export const add = threadable(function add(a, b) { return addBody(a, b); });
export const record = threadable(function record(r) { return recordBody(r); });
export const cpu = threadable(function cpu(n) { return cpuBody(n); });
export const echo = threadable(function echo(buf) { return transfer(buf); });
