// Preloaded in a pool thread: records what the thread's run channel
// publishes at start, and returns it through `seen`.
import { tracingChannel } from 'node:diagnostics_channel';
import { TASK_RUN_CHANNEL, type TaskRunTraceMessage } from 'reactor-threads';

const starts: TaskRunTraceMessage[] = [];
tracingChannel<unknown, TaskRunTraceMessage>(TASK_RUN_CHANNEL).subscribe({
  start(m) { starts.push(m); }, end() {}, asyncStart() {}, asyncEnd() {}, error() {},
});

export function seen(): unknown[] {
  return starts.map((m) => ({ function: m.function, carrier: m.carrier, args: m.args, result: m.result }));
}
