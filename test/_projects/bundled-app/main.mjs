// An app that test/bundlers.ts bundles into one file: threadables that
// use its imports (built-ins, and a package the bundle keeps external),
// and a plain function. It prints one line; a thread that imported the
// bundle would start the app again and print a second one.
import { deferToThread, threadable } from 'reactor-threads';
import { createHash } from 'node:crypto';
import * as crypto from 'node:crypto';
import { isMainThread } from 'node:worker_threads';
import { parse } from 'acorn';
import * as acorn from 'acorn';

export const digest = threadable(function digest(text) {
  // `crypto` is the module here, not the global WebCrypto.
  const again = crypto.createHash('sha256').update(text).digest('hex');
  return [createHash('sha256').update(text).digest('hex').slice(0, 8), again.slice(0, 8), !isMainThread];
});

export const statements = threadable(function statements(code) {
  return { count: parse(code, { ecmaVersion: 'latest' }).body.length, acorn: acorn.version };
});

async function main() {
  console.log(JSON.stringify({
    digest: await deferToThread(digest, 'hello'),
    statements: await deferToThread(statements, 'a; b; c'),
    product: await deferToThread((a, b) => a * b, 6, 7),
  }));
}
main();
