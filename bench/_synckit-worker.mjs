// synckit's worker: returns x + 1 (async, as synckit requires).
import { runAsWorker } from 'synckit';

runAsWorker(async (x) => x + 1);
