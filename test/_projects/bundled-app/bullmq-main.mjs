// An app that uses reactor-threads/bullmq alone (test/bundlers.ts bundles
// it with the package inside, which must be refused at once).
import { BullMQThreadPool } from 'reactor-threads/bullmq';

console.log(typeof BullMQThreadPool);
