// A test file whose suites are declared in a loop, not at a line's start:
// still a test file, which the thread never imports.
const assert = require('node:assert/strict');
const { deferToThread, threadable } = require('reactor-threads');
const { triple } = require('../lib/helper.js');
const { twice } = require('../lib/local-names.js');

const quadruple = threadable(function quadruple(x) { return x * 4; });

for (const n of [1, 2]) {
  describe(`threadables for ${n}`, () => {
    it('runs a test file\'s threadable and a module\'s in a thread', async () => {
      assert.deepEqual([await deferToThread(quadruple, n), await deferToThread(triple, n), await deferToThread(twice, n)],
        [4 * n, 3 * n, 2 * n]);
    });
  });
}
