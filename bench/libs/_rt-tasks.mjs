// reactor-threads' side of the shared tasks: threadables, found by identity.
import { threadable, transfer } from 'reactor-threads';
import { add as addBody, cpu as cpuBody } from './_tasks.mjs';

export const add = threadable(function add(a, b) { return addBody(a, b); });
export const cpu = threadable(function cpu(n) { return cpuBody(n); });
export const echo = threadable(function echo(buf) { return transfer(buf); });
