// Child process (test/transfer.ts): the ArrayBuffer of Node's Buffer pool,
// moved with transfer() each way a value crosses. Detaching it would empty
// every small Buffer of the sender (its console output included), so each
// step writes a line of JSON to fd 1 itself, as it goes.
import { writeSync } from 'node:fs';
import { blockingCallInThread, deferToThreadPool, reactor, ThreadPool, transfer } from 'reactor-threads';
import { byteLengthOf, keptInThread, returnSlab, slabThroughBridge } from './slab-tasks.cjs';

const mine = Buffer.from('main own');
function report(step: string, got: unknown): void {
  writeSync(1, `${JSON.stringify({ step, got, slab: mine.buffer.byteLength, mine: mine.toString() })}\n`);
}

async function main(): Promise<void> {
  const pool = new ThreadPool({ minThreads: 1, maxThreads: 1 });
  pool.start();
  report('argument', await deferToThreadPool(reactor, pool, byteLengthOf, transfer(mine.buffer as ArrayBuffer)));
  report('nested argument', await deferToThreadPool(reactor, pool, (v: { b: Uint8Array }) => v.b.byteLength,
    { b: transfer(new Uint8Array(mine.buffer)) }));
  report('result', (await deferToThreadPool(reactor, pool, returnSlab)).byteLength);
  report('thread after result', await deferToThreadPool(reactor, pool, keptInThread));
  report('bridge', await deferToThreadPool(reactor, pool, slabThroughBridge));
  const blocking = blockingCallInThread.with({ pool });
  report('blockingCallInThread argument', blocking(byteLengthOf, transfer(mine.buffer as ArrayBuffer)));
  report('blockingCallInThread result', blocking(returnSlab).byteLength);
  report('thread after blockingCallInThread result', await deferToThreadPool(reactor, pool, keptInThread));
  await pool.stop();
  console.log('console still prints');
}
main().catch((e: unknown) => { writeSync(1, `${JSON.stringify({ step: 'failed', got: String(e) })}\n`); process.exitCode = 1; });
