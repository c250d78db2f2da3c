// raw worker_threads: {id, op, args} in, [id, result] out; echo transfers back.
import { parentPort, threadId } from 'node:worker_threads';
import { add, cpu, record } from './_tasks.mjs';

parentPort.on('message', ({ id, op, args }) => {
  switch (op) {
    case 'add': parentPort.postMessage([id, add(args[0], args[1])]); break;
    case 'record': parentPort.postMessage([id, record(args[0])]); break;
    case 'cpu': parentPort.postMessage([id, cpu(args[0])]); break;
    case 'warm': cpu(args[0]); parentPort.postMessage([id, threadId]); break;
    case 'echo': parentPort.postMessage([id, args[0]], [args[0]]); break;
    default: parentPort.postMessage([id, undefined]);
  }
});
