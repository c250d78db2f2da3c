// Child process: a plain function that imports a bare package, a relative
// module and a built-in in a thread; it prints their results. Nothing may
// appear on stderr (no ExperimentalWarning).
import { deferToThread } from 'reactor-threads';

const out = await deferToThread(async (src: string) => {
  const { parse } = await import('acorn');
  const { triple } = await import('./tasks-esm.mjs');
  const { createHash } = await import('node:crypto');
  return [parse(src, { ecmaVersion: 'latest' }).body.length, triple(2), createHash('sha1').update('').digest('hex').length];
}, 'a; b');
console.log(JSON.stringify(out));
