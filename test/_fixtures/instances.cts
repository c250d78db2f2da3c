// Instances of classes no one registered, for flattenInstances: plain
// data (as a parser's AST nodes are), and instances that are not.
import { blockingCallFromThread, reactor, threadable } from 'reactor-threads';
import { Point } from './tasks.cjs';

/** Plain data: own enumerable data properties only, methods on the prototype. */
export class Vec {
  constructor(public x: number, public y: number) {}
  length(): number { return Math.hypot(this.x, this.y); }
  get isZero(): boolean { return this.x === 0 && this.y === 0; }
}

/** Plain data holding plain data, and a registered class. */
export class Segment {
  constructor(public from: Vec, public to: Vec, public label: Point | undefined = undefined) {}
}

/** Its `length` is an own accessor, which a copy of its properties cannot carry. */
export class Measured {
  declare readonly length: number;
  constructor(public x: number) {
    Object.defineProperty(this, 'length', { get: () => this.x * 2, enumerable: true });
  }
}

/** A private field, which cannot be seen from outside the class. */
export class Account {
  #balance: number;
  constructor(public owner: string, balance: number) { this.#balance = balance; }
  get balance(): number { return this.#balance; }
}

/** In a thread: a Segment whose ends are Vecs, labelled with a registered Point. */
export const makeSegment = threadable(function makeSegment(x1: number, y1: number, x2: number, y2: number): Segment {
  return new Segment(new Vec(x1, y1), new Vec(x2, y2), new Point(x2 - x1, y2 - y1));
});

/** In a thread: makeSegment's Segment, `ms` later (its task settles after the thread has taken others). */
export const makeSegmentLater = threadable(async function makeSegmentLater(ms: number, x2: number, y2: number): Promise<Segment> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return new Segment(new Vec(0, 0), new Vec(x2, y2), new Point(x2, y2));
});

export const makeMeasured = threadable(function makeMeasured(x: number): Measured { return new Measured(x); });

/** In a thread: what arrived, as data (its prototype, keys and nested prototypes). */
export const inspectArrival = threadable(function inspectArrival(v: Record<string, unknown>): {
  plain: boolean; keys: string[]; nestedPlain: boolean[];
} {
  const isPlain = (o: unknown): boolean => Object.getPrototypeOf(o) === Object.prototype;
  return {
    plain: isPlain(v),
    keys: Object.keys(v),
    nestedPlain: Object.values(v).filter((x) => typeof x === 'object' && x !== null).map(isPlain),
  };
});

/** In a thread: the names of an ESTree AST's Identifier nodes, and whether every node arrived as a plain object. */
export const identifiersOf = threadable(function identifiersOf(ast: object): { names: string[]; allPlain: boolean } {
  const names: string[] = [];
  let allPlain = true;
  const visit = (n: unknown): void => {
    if (typeof n !== 'object' || n === null) return;
    if (Array.isArray(n)) { n.forEach(visit); return; }
    if (Object.getPrototypeOf(n) !== Object.prototype) allPlain = false;
    const node = n as { type?: unknown; name?: unknown };
    if (node.type === 'Identifier') names.push(node.name as string);
    Object.values(n).forEach(visit);
  };
  visit(ast);
  return { names, allPlain };
});

/** On the reactor: a Vec made there, and whether the one it was given arrived as a plain object. */
export const vecOnReactor = threadable(function vecOnReactor(given: object): { made: Vec; givenPlain: boolean } {
  return { made: new Vec(3, 4), givenPlain: Object.getPrototypeOf(given) === Object.prototype };
});

/** In a pool thread: a blocking call to vecOnReactor with a Vec made here; what came back, as data. */
export const askReactorForVec = threadable(function askReactorForVec(): { made: object; givenPlain: boolean; madePlain: boolean } {
  const { made, givenPlain } = blockingCallFromThread(reactor, vecOnReactor, new Vec(1, 2));
  return { made, givenPlain, madePlain: Object.getPrototypeOf(made) === Object.prototype };
});

/** In a pool thread: sends a Vec made here to `report`, on the reactor, without waiting. */
export const postVec = threadable(function postVec(report: (v: object) => void): void {
  reactor.callFromThread(report, new Vec(5, 6));
});
