// An error held in own properties 1,100 deep, read on the main thread
// (a 1 MB stack): prints what arrived, as JSON (test/errors.ts).
import { deferToThread, reactor } from 'reactor-threads';

type Wrapped = Error & { inner?: Wrapped; code?: string };
try {
  await deferToThread(() => {
    let e: Wrapped = new Error('level 0');
    for (let i = 1; i < 1100; i++) e = Object.assign(new Error(`level ${i}`), { inner: e });
    throw e;
  });
} catch (err) {
  let depth = 0;
  let e = err as Wrapped;
  while (e.inner !== undefined) { e = e.inner; depth++; }
  console.log(JSON.stringify({ name: (err as Error).name, message: (err as Error).message, depth, last: e.code }));
}
await reactor.getThreadPool().stop();
