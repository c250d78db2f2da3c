// Child process: a CommonJS caller.
import { deferToThread, fromModule } from 'reactor-threads';
import { add } from './tasks.cjs';

async function main(): Promise<void> {
  const { triple } = await import('./tasks-esm.mjs');
  const plain = fromModule<(x: number) => string>('./tasks-esm.mjs', 'plainExport');
  console.log(JSON.stringify({
    triple: await deferToThread(triple, 4),
    add: await deferToThread(add, 2, 3),
    plain: await deferToThread(plain, 1),
  }));
}
main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });
