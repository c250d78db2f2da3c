// A plain function with functions and a class of its own, sent as source:
// under tsx each of them is named through esbuild's `__name` helper, which
// its module defines. Prints what the thread gave back.
import { deferToThread } from 'reactor-threads';

const got = await deferToThread((n: number) => {
  function doubled(x: number): number { return x * 2; }
  const plusOne = (y: number): number => y + 1;
  class Box { constructor(readonly v: number) {} }
  return { values: [doubled(n), plusOne(n), new Box(n).v], names: [doubled.name, plusOne.name, Box.name] };
}, 5);
console.log(JSON.stringify(got));
