// A worker process for test/bullmq-*.ts: serves a queue with serveBullMQ,
// its app root the folder it sits in (a copy of this fixture folder at
// another path: test/_helpers/bullmq-workers.ts). Its options come as
// JSON in argv[2]. It prints `ready <pid>` once it takes jobs; on SIGTERM
// it closes (letting its active jobs finish), prints `closed <stats>` and
// exits by itself.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveBullMQ, type ServeBullMQOptions } from 'reactor-threads/bullmq';

const options = JSON.parse(process.argv[2]!) as Omit<ServeBullMQOptions, 'root'>;
const server = serveBullMQ({ ...options, root: dirname(fileURLToPath(import.meta.url)) });
// Before `ready`: a test that sends SIGTERM as soon as it reads it must
// find the handler here. (A SIGTERM that comes first ends the process by
// Node's default, with no `closed` line: the likeliest cause of one such
// failure in CI, under Node 26 on 2026-12-03.)
process.once('SIGTERM', () => {
  server.close().then(() => { process.stdout.write(`closed ${JSON.stringify(server.stats())}\n`); }, (e: unknown) => {
    process.stderr.write(`close failed: ${String(e)}\n`);
    process.exitCode = 1;
  });
});
// Its stdin is a pipe from the test process: when that process dies (a test
// runner that ends a worker thread runs no exit hook), the pipe closes and
// this worker goes too, instead of serving on as an orphan. (Unref'd: it
// never keeps the worker alive by itself.)
process.stdin.on('end', () => process.exit(0)).resume();
(process.stdin as unknown as { unref(): void }).unref();
await server.ready;
process.stdout.write(`ready ${process.pid}\n`);
