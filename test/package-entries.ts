// The package's entries, each as dist/….js (require) and dist/….mjs
// (import): one instance, the same names. 'reactor-threads/bullmq' too,
// whose ES module entry (src/bullmq/index.mts) lists its names by hand.
// A failed import: addon-loader.ts.
import test from 'ava';

for (const entry of ['reactor-threads', 'reactor-threads/bullmq']) {
  test(`${entry}: the ES module entry exports the CommonJS entry's values by the same names, and no __esModule`, async (t) => {
    const esm = await import(entry) as Record<string, unknown>;
    const cjs = require(entry) as Record<string, unknown>;
    t.not(Object.keys(cjs).length, 0);
    t.false(Object.keys(esm).includes('__esModule'));
    t.deepEqual(Object.keys(esm).sort(), Object.keys(cjs).sort());
    for (const name of Object.keys(cjs)) t.is(esm[name], cjs[name], name);
  });
}
