// A threadable that uses a value of the bundle, not an import: refused
// when the bundle loads, naming it.
import { deferToThread, threadable } from 'reactor-threads';

const seen = new Set();
export const remember = threadable(function remember(text) {
  seen.add(text);
  return seen.size;
});
deferToThread(remember, 'a').then(console.log);
