// Child process: the reactor on the main thread.
import { deferToThread, reactor } from 'reactor-threads';
import tasks from './tasks.cjs';

const order: string[] = [];
await new Promise<void>((resolve) => {
  reactor.callFromThread((a: number, b: number) => { order.push(`called ${a} ${b}`); resolve(); }, 1, 2);
  order.push('sync');
});
const where = await deferToThread(tasks.whereAmI);
console.log(JSON.stringify({ io: reactor.isInIOThread(), order, poolThreadIO: where.io }));
