// A module of threadables that is no test file, though this comment
// names a test at a line's start:
/*
it('works', () => {});
*/
// The thread imports it, so its threadables may use its own names.
const { threadable } = require('reactor-threads');

const FACTOR = 3;
exports.triple = threadable(function triple(x) { return x * FACTOR; });
