// A second test file: jest runs it in the same process as the first, with
// its own copy of the package (a new module registry). That copy gets its
// own reactor, which serves its threads' calls back to this file.
const { deferToThread, threadable } = require('reactor-threads');
const { shout } = require('./tasks.cjs');

const callBack = threadable(function callBack(f, x) { return f(x); });

test('a second test file in the same process runs tasks', async () => {
  expect(await deferToThread(shout, 'again')).toBe('AGAIN!');
});

test('a second test file in the same process answers its threads\' calls', async () => {
  const seen = [];
  expect(await deferToThread(callBack, (x) => { seen.push(x); return x + 1; }, 41)).toBe(42);
  expect(seen).toEqual([41]);
});
