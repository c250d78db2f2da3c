// What a value costs to cross, in the codec alone (no thread): the
// library's round trip (encodeResult, then decodeValue, on one thread)
// against v8.serialize and v8.deserialize's, for values of several shapes
// and sizes. F: the value took the fast path (src/codec/fast-codec.ts);
// V: the v8 path, which checks the value before v8 serializes it, so it
// costs more than v8's bare round trip. The v8 path column sends the
// same value beside a bigint, which only the v8 path takes. The fast
// path's limits (MAX_WHOLE_KEYS, MAX_PRIMITIVE_RUN, ...) sit where it
// stops beating the v8 path; this shows each shape on either side.
//
// Run: node bench/codec.mjs [--quick]
import { deserialize, serialize } from 'node:v8';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { encodeResult, decodeValue } = require('../dist/codec/codec.js');
const quick = process.argv.includes('--quick');

const row = (i) => ({ id: i, name: `row ${i}`, score: i * 1.5, ok: i % 2 === 0, tags: ['a', 'b'] });
const shapes = {
  'records (5 fields)': [[5, 30, 300, 3_000], (n) => Array.from({ length: n }, (_, i) => row(i))],
  'records with a Date': [[5, 30, 300], (n) => Array.from({ length: n }, (_, i) => ({ ...row(i), at: new Date(1_700_000_000_000 + i) }))],
  'numbers': [[10, 100, 1_000], (n) => Array.from({ length: n }, (_, i) => i * 1.5)],
  'strings': [[10, 100, 1_000], (n) => Array.from({ length: n }, (_, i) => `item-${i}`)],
  'dictionary (unique keys)': [[10, 30, 100], (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`key${i}`, i]))],
  'nested (one shape)': [[5, 20, 40, 100], (n) => Array.from({ length: n }).reduce((child, _, i) => ({ i, child }), null)],
};

// A value context with nothing to revive: plain values carry no markers.
const ctx = { callables: undefined, revive: (v) => v };

function usPerRound(f, n) {
  const iters = Math.max(100, Math.round((quick ? 20_000 : 200_000) / n));
  for (let i = 0; i < iters / 4; i++) f();
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) f();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / iters / 1000);
  }
  return best;
}

const roundTrip = (v) => () => {
  const e = encodeResult(v, ctx);
  decodeValue(Buffer.from(e.bytes), e.transfers, ctx);
};

console.log('| value | size | path | library µs | v8 path µs | v8 round trip µs | library ÷ v8 path |');
console.log('|---|---|---|---|---|---|---|');
for (const [name, [sizes, make]] of Object.entries(shapes)) {
  for (const n of sizes) {
    const v = make(n);
    const lib = usPerRound(roundTrip(v), n);
    const v8Path = usPerRound(roundTrip([v, 0n]), n);
    const v8 = usPerRound(() => deserialize(serialize(v)), n);
    const path = encodeResult(v, ctx).bytes[0] === 0xfd ? 'F' : 'V';
    console.log(`| ${name} | ${n} | ${path} | ${lib.toFixed(2)} | ${v8Path.toFixed(2)} | ${v8.toFixed(2)} | ${(lib / v8Path).toFixed(2)} |`);
  }
}
