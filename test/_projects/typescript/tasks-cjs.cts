// Threadables in a CommonJS TypeScript module.
const { threadable } = require('reactor-threads') as typeof import('reactor-threads');

type Pair = [number, number];
exports.add = threadable(function add([a, b]: Pair): number { return a + b; });
