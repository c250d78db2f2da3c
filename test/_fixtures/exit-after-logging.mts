// Child process: tasks that print, in a script that exits by itself right
// after. Every line printed in the threads must reach stdout.
import { callMultipleInThread, deferToThread } from 'reactor-threads';

const say = (line: string): void => { console.log(line); };
await callMultipleInThread([[say, ['multi 1']], [say, ['multi 2']], [say, ['multi 3']]]);
await deferToThread(say, 'single');
