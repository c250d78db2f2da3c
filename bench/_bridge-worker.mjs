// The pure-JS pattern for bench/bridge.mjs: a plain Worker that calls main
// synchronously through a MessagePort plus a SharedArrayBuffer flag.
// Per call: port.postMessage(request); Atomics.wait(flag, 0, 0) until main
// has stored 1 (and notified); receiveMessageOnPort(port) reads the reply; the
// flag goes back to 0.
// Commands come on parentPort: { variant, warm, n, gapMs }; the latencies
// (µs, Float64Array) go back on parentPort.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';

const { sab, port } = workerData;
const flag = new Int32Array(sab);
const napper = new Int32Array(new SharedArrayBuffer(4));  // Atomics.wait on it is a sleep

function call(variant, x) {
  port.postMessage([variant, x]);
  // A loop, not one wait: main stores the flag, then notifies, and may be
  // preempted between the two. This thread can then see the flag, take the
  // reply, clear the flag and wait for its next call before that late
  // notify comes: one wait would end on it with no reply on the port.
  while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0);
  const reply = receiveMessageOnPort(port);
  Atomics.store(flag, 0, 0);
  if (reply === undefined) throw new Error('flag set but no reply on the port');
  return reply.message;
}

parentPort.on('message', ({ variant, warm, n, gapMs }) => {
  for (let i = 0; i < warm; i++) {
    if (gapMs > 0) Atomics.wait(napper, 0, 0, gapMs);
    if (call(variant, i) !== i + 1) throw new Error('wrong answer');
  }
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (gapMs > 0) Atomics.wait(napper, 0, 0, gapMs);
    const t0 = process.hrtime.bigint();
    const r = call(variant, i);
    lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
    if (r !== i + 1) throw new Error('wrong answer');
  }
  parentPort.postMessage(lat, [lat.buffer]);
});
