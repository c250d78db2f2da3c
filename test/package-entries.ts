// The package's two entries, dist/index.js (require) and dist/index.mjs
// (import): one instance, the same names. A failed import: addon-loader.ts.
import test from 'ava';

test('the ES module entry exports the CommonJS entry\'s values by the same names, and no __esModule', async (t) => {
  const esm = await import('reactor-threads') as Record<string, unknown>;
  const cjs = require('reactor-threads') as Record<string, unknown>;
  t.false(Object.keys(esm).includes('__esModule'));
  t.deepEqual(Object.keys(esm).sort(), Object.keys(cjs).sort());
  for (const name of Object.keys(cjs)) t.is(esm[name], cjs[name], name);
});
