// Child process: blockingCallFromThread on the main thread, which serves
// itself. Prints what it threw and whether f ran.
import { blockingCallFromThread, reactor, WouldDeadlockError } from 'reactor-threads';

const flag = globalThis as { ranOnReactor?: boolean };
try {
  blockingCallFromThread(reactor, () => { (globalThis as { ranOnReactor?: boolean }).ranOnReactor = true; return 1; });
  console.log(JSON.stringify({ threw: false, ran: flag.ranOnReactor === true }));
} catch (e) {
  const err = e as Error & { code?: string };
  console.log(JSON.stringify({
    threw: true, wouldDeadlock: e instanceof WouldDeadlockError, name: err.name, code: err.code, message: err.message,
    ran: flag.ranOnReactor === true, io: reactor.isInIOThread(),
  }));
}
