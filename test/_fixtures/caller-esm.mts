// Child process: an ES module caller.
import { deferToThread, fromModule, reactor } from 'reactor-threads';
import { triple } from './tasks-esm.mjs';
import tasks from './tasks.cjs';

const plain = fromModule<(x: number) => string>('./tasks-esm.mjs', 'plainExport');
console.log(JSON.stringify({
  triple: await deferToThread(triple, 4),
  add: await deferToThread(tasks.add, 2, 3),
  plain: await deferToThread(plain, 1),
  io: reactor.isInIOThread(),
}));
