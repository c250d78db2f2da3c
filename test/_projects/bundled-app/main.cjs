// A CommonJS app (test/bundlers.ts): the bundle keeps its require() calls,
// destructured, renamed, or read for one property.
const { deferToThread, threadable } = require('reactor-threads');
const { createHash: hash } = require('node:crypto');
const tokenizer = require('acorn').tokenizer;
const workerThreads = require('node:worker_threads');

const tokens = threadable(function tokens(code) {
  const count = [...tokenizer(code, { ecmaVersion: 'latest' })].length;
  return [count, hash('sha256').update(code).digest('hex').slice(0, 8), !workerThreads.isMainThread];
});

deferToThread(tokens, 'a + b').then((result) => console.log(JSON.stringify(result)));
