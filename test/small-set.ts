// SmallSet and SmallMap (src/base/small-set.ts): the array-backed set and
// map a pool thread keeps its tasks in (taken, running, answering) and the
// owner its stages. They must behave as Set and Map do for what the
// runner asks of them, order included: native counts on the tasks taken
// starting in the order taken.
import test from 'ava';
import { SmallMap, SmallSet } from '../dist/base/small-set.js';

test('a SmallSet keeps insertion order, and its order survives deletes from the front, the middle and the end', (t) => {
  const s = new SmallSet<number>();
  for (const v of [5, 1, 4, 2, 3]) s.add(v);
  t.deepEqual(s.values(), [5, 1, 4, 2, 3]);
  t.is(s.first, 5);
  t.true(s.delete(5));
  t.true(s.delete(4));
  t.true(s.delete(3));
  t.deepEqual(s.values(), [1, 2]);
  t.is(s.first, 1);
  t.is(s.size, 2);
});

test('a SmallSet adds a value once, and deletes only what it has', (t) => {
  const s = new SmallSet<string>();
  s.add('a');
  s.add('a');
  t.is(s.size, 1);
  t.true(s.has('a'));
  t.false(s.has('b'));
  t.false(s.delete('b'));
  t.true(s.delete('a'));
  t.false(s.delete('a'));
  t.is(s.size, 0);
  t.is(s.first, undefined);
});

test('a SmallSet\'s values() is a copy: the set can change while it is iterated', (t) => {
  const s = new SmallSet<number>();
  for (let i = 0; i < 6; i++) s.add(i);
  const seen: number[] = [];
  for (const v of s.values()) {
    seen.push(v);
    s.delete(v);
    if (v === 2) s.clear();
  }
  t.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  t.is(s.size, 0);
});

test('a SmallSet matches a Set over a long run of random adds and deletes', (t) => {
  const small = new SmallSet<number>();
  const reference = new Set<number>();
  let seed = 7;
  const next = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % 12; };
  for (let i = 0; i < 5000; i++) {
    const v = next();
    if (next() < 7) {
      small.add(v);
      reference.add(v);
    } else {
      t.is(small.delete(v), reference.delete(v));
    }
    t.is(small.size, reference.size);
  }
  t.deepEqual(small.values(), [...reference]);
});

test('a SmallMap gets, replaces and deletes values by key, as a Map does', (t) => {
  const m = new SmallMap<number, string>();
  const reference = new Map<number, string>();
  let seed = 11;
  const next = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % 10; };
  for (let i = 0; i < 5000; i++) {
    const k = next();
    const op = next();
    if (op < 5) {
      m.set(k, `v${i}`);
      reference.set(k, `v${i}`);
    } else if (op < 8) {
      t.is(m.delete(k), reference.delete(k));
    }
    t.is(m.get(k), reference.get(k));
    t.is(m.has(k), reference.has(k));
    t.is(m.size, reference.size);
  }
});
