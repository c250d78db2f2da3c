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

test('past 32 values, a value deleted and added again is the newest, whether or not the oldest was asked for in between', (t) => {
  const s = new SmallSet<number>();
  for (let i = 0; i < 40; i++) s.add(i);
  t.is(s.first, 0);
  s.delete(0);
  s.add(0);
  t.is(s.first, 1);
  s.delete(1);
  s.delete(2);
  s.add(1);
  t.is(s.first, 3);
  t.deepEqual(s.values().slice(-2), [0, 1]);
  for (let i = 0; i < 40; i++) s.delete(i);
  t.is(s.size, 0);
  t.is(s.first, undefined);
  s.add(7);
  t.is(s.first, 7);
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

/** A pseudo-random sequence (the same every run) of integers below `n`. */
function numbers(seed: number, n: number): () => number {
  // (The high bits: an LCG's low ones repeat with a short period.)
  return () => { seed = (seed * 1103515245 + 12345) % 2147483648; return Math.floor((seed / 2147483648) * n); };
}

for (const [range, label] of [[12, 'a few values (arrays)'], [80, 'up to 80 values (past 32 they move to a Set, and back once empty)']] as const) {
  test(`a SmallSet matches a Set, order and first value included, over random adds and deletes of ${label}`, (t) => {
    const small = new SmallSet<number>();
    const reference = new Set<number>();
    const next = numbers(7, range);
    let largest = 0;
    for (let i = 0; i < 20_000; i++) {
      const v = next();
      // (Phases that grow and phases that shrink, so that the size crosses 32 both ways and reaches 0.)
      const growing = Math.floor(i / 2000) % 2 === 0;
      if (next() < (growing ? 0.7 : 0.3) * range) {
        small.add(v);
        reference.add(v);
      } else {
        t.is(small.delete(v), reference.delete(v));
      }
      largest = Math.max(largest, reference.size);
      if (small.size !== reference.size || small.first !== reference.values().next().value) {
        t.fail(`step ${i}: size ${small.size}, first ${String(small.first)}; expected ${reference.size}, ${String(reference.values().next().value)}`);
        return;
      }
    }
    t.deepEqual(small.values(), [...reference]);
    if (range > 32) t.true(largest > 32, `the run reached ${largest} values only`);
  });
}

for (const range of [10, 80]) {
  test(`a SmallMap gets, replaces and deletes values by key as a Map does, with keys below ${range}`, (t) => {
    const m = new SmallMap<number, string>();
    const reference = new Map<number, string>();
    const next = numbers(11, range);
    for (let i = 0; i < 20_000; i++) {
      const k = next();
      const growing = Math.floor(i / 2000) % 2 === 0;
      if (next() < (growing ? 0.6 : 0.3) * range) {
        m.set(k, `v${i}`);
        reference.set(k, `v${i}`);
      } else {
        t.is(m.delete(k), reference.delete(k));
      }
      if (m.get(k) !== reference.get(k) || m.has(k) !== reference.has(k) || m.size !== reference.size) {
        t.fail(`step ${i}: key ${k} differs`);
        return;
      }
    }
    t.pass();
  });
}
