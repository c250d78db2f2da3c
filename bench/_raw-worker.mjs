// The floor of what messaging costs: a Worker that answers each message.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', ([id, a, b]) => parentPort.postMessage([id, a + b]));
