// Child process: a top-level await of deferToThread, then nothing. Must exit
// on its own with code 0 (13 would mean the loop ended under the await).
import { deferToThread } from 'reactor-threads';

console.log(await deferToThread((a: number, b: number) => a + b, 1, 2));
