// Child process: process.exit() while a pool thread is parked in a blocking
// call that is never answered. Must exit at once.
import { deferToThread } from 'reactor-threads';
import tasks from './bridge-tasks.cjs';

void deferToThread(tasks.callReactorCatching, 'neverAnswers');
setTimeout(() => { console.log('exiting'); process.exit(0); }, 300);
