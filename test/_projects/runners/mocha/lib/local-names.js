// A module that declares and calls a function named test of its own: no
// test file, so the thread imports it, and its threadables may use its names.
const { threadable } = require('reactor-threads');

function test(x) { return x; }
const K = test(2);
exports.twice = threadable(function twice(x) { return x * K; });
