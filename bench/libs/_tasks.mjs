// The task bodies every library runs, so that all measure the same work.
export const add = (a, b) => a + b;
/** A small record in, a small record out: the shape of a typical request handled on a thread. */
export const record = (r) => ({ id: r.id, ok: true, tags: r.tags });

const small = { id: 42, name: 'reactor', tags: ['a', 'b', 'c'], nested: { x: 1.5, y: true } };
export function cpu(n) {
  let total = 0;
  for (let i = 0; i < n; i++) total += JSON.stringify(small).length;
  return total;
}
