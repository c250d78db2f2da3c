// Child process: reactor.callFromThread on the main thread with targets
// that throw and reject (each failure goes to stderr; the process lives
// on), and with a fromModule() reference, which keeps its place in order.
import { fromModule, reactor } from 'reactor-threads';

const log: string[] = [];
(globalThis as { reactorLog?: string[] }).reactorLog = log;
reactor.callFromThread(() => { throw new TypeError('thrown by f'); });
reactor.callFromThread(() => Promise.reject(new RangeError('rejected by f')));
reactor.callFromThread(fromModule<(s: string) => void>('./reactor-log.cjs', 'logOnReactor'), 'loaded');
reactor.callFromThread((s: string) => { log.push(s); }, 'after it');
// Printed once both logging calls ran (they come last, in order), or after
// 10 s: a fixed 200 ms was too short for the module's load under load.
const until = Date.now() + 10_000;
const report = (): void => {
  if (log.length < 2 && Date.now() < until) {
    setTimeout(report, 10);
    return;
  }
  console.log(log.join(', '));
};
setTimeout(report, 10);
