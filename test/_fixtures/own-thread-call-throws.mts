// Child process: reactor.callFromThread on the main thread with targets
// that throw and reject. Each failure goes to stderr; the process lives on.
import { reactor } from 'reactor-threads';

reactor.callFromThread(() => { throw new TypeError('thrown by f'); });
reactor.callFromThread(() => Promise.reject(new RangeError('rejected by f')));
reactor.callFromThread(() => { console.log('later calls still run'); });
setTimeout(() => { console.log('alive'); }, 50);
