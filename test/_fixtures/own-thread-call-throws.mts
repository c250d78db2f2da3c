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
setTimeout(() => { console.log(log.join(', ')); }, 200);
