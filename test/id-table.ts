// The pool's table of tasks in flight by id (src/pool/id-table.ts): it
// answers as a Map would, for ids in order, out of order, sparse and past
// 2^32, and stragglers do not pin the chunks around them.
import test from 'ava';
import fc from 'fast-check';
import { IdTable } from '../dist/pool/id-table.js';

type Op = { kind: 'add'; gap: number } | { kind: 'take'; pick: number } | { kind: 'readd'; pick: number };

const ops = fc.array(fc.oneof(
  fc.record({ kind: fc.constant('add' as const), gap: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 2000 })) }),
  fc.record({ kind: fc.constant('take' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('readd' as const), pick: fc.nat() }),
), { maxLength: 3000 });

test('an IdTable answers get, has, take, size and ids (ascending) as a Map does, within 8 slots an entry', (t) => {
  fc.assert(fc.property(ops, fc.constantFrom(1, 2 ** 32 - 700, 2 ** 45), (script: Op[], start: number) => {
    const table = new IdTable<string>();
    const model = new Map<number, string>();
    const taken: number[] = [];
    let next = start;
    for (const op of script) {
      if (op.kind === 'add') {
        next += op.gap;
        table.set(next, `v${next}`);
        model.set(next, `v${next}`);
      } else if (op.kind === 'take') {
        const keys = [...model.keys()];
        if (keys.length === 0) continue;
        const id = keys[op.pick % keys.length]!;
        if (table.take(id) !== model.get(id)) return false;
        model.delete(id);
        taken.push(id);
        if (table.take(id) !== undefined) return false;  // once
      } else if (taken.length > 0) {
        // An old id set again (the pool re-registers nothing, but the table must not mind).
        const id = taken[op.pick % taken.length]!;
        table.set(id, `again${id}`);
        model.set(id, `again${id}`);
      }
      if (table.size !== model.size) return false;
      if (table.footprint > 8 * table.size + 512) return false;
    }
    for (const [id, v] of model) if (table.get(id) !== v || !table.has(id)) return false;
    if (table.has(next + 1) || table.get(start - 1) !== undefined) return false;
    // ids(): ascending, spilled ones (the oldest) first among them.
    return table.ids().join() === [...model.keys()].sort((a, b) => a - b).join();
  }), { numRuns: 300 });
  t.pass();
});

test('stragglers among settled tasks do not pin their chunks', (t) => {
  const table = new IdTable<number>();
  // A million tasks in order, each settled at once, but one in 100 stays.
  const kept: number[] = [];
  for (let id = 1; id <= 1_000_000; id++) {
    table.set(id, id);
    if (id % 100 === 0) kept.push(id);
    else table.take(id);
  }
  t.is(table.size, kept.length);
  // 10,000 left: a chunk per straggler would be 5 million slots.
  t.true(table.footprint <= 8 * table.size + 2 * 512, `footprint ${table.footprint} for ${table.size}`);
  for (const id of kept) t.is(table.take(id), id);
  t.is(table.size, 0);
  t.true(table.footprint <= 2 * 512, `footprint ${table.footprint} when empty`);
});

test('ids shared with other pools (sparse) still fit the bound', (t) => {
  const table = new IdTable<number>();
  let live = 0;
  // Every 7th id is this pool's; it keeps about 300 in flight.
  const open: number[] = [];
  for (let id = 7; id <= 700_000; id += 7) {
    table.set(id, id);
    open.push(id);
    live++;
    if (open.length > 300) {
      const oldest = open.shift()!;
      t.is(table.take(oldest), oldest);
      live--;
    }
    if (id % 7_000 === 0) t.true(table.footprint <= 8 * table.size + 2 * 512);
  }
  t.is(table.size, live);
});

test('ids() is a copy: taking ids while walking it changes nothing walked', (t) => {
  const table = new IdTable<number>();
  for (let id = 1; id <= 1100; id++) table.set(id, id);
  for (let id = 1; id <= 500; id++) table.take(id);  // the first chunk goes sparse soon
  const ids = table.ids();
  for (const id of ids) if (id < 1000) table.take(id + 1);
  t.deepEqual(ids, Array.from({ length: 600 }, (_, i) => 501 + i));
});
