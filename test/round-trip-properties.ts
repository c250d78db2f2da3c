// Property-based round trips (fast-check): random cloneable values and
// random error shapes, sent through deferToThread and
// blockingCallFromThread, arrive as they were sent.
import test from 'ava';
import fc from 'fast-check';
import { deferToThread } from 'reactor-threads';
import { identity, throwValue } from './_fixtures/tasks.cjs';
import { echoThroughReactor, throwThroughReactor } from './_fixtures/bridge-tasks.cjs';

const cloneable = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' },
    fc.integer(), fc.double({ noNaN: true }), fc.string(), fc.boolean(), fc.constant(null), fc.constant(undefined),
    fc.bigInt(), fc.date({ noInvalidDate: true }), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(fc.string().filter((k) => k !== '__proto__' && k !== '__reactorThreads'), tie('value'), { maxKeys: 5 }),
})).value;

const errorShape = fc.record({
  ctor: fc.constantFrom(Error, TypeError, RangeError, SyntaxError, EvalError, URIError, ReferenceError),
  message: fc.string(),
  code: fc.option(fc.string(), { nil: undefined }),
  extra: fc.option(cloneable, { nil: undefined }),
  causes: fc.array(fc.string(), { maxLength: 3 }),
});

type Shape = { ctor: ErrorConstructor; message: string; code?: string; extra?: unknown; causes: string[] };
function build(s: Shape): Error {
  let cause: Error | undefined;
  for (const m of s.causes) cause = new Error(m, cause ? { cause } : undefined);
  const e = new s.ctor(s.message, cause ? { cause } : undefined);
  if (s.code !== undefined) Object.assign(e, { code: s.code });
  if (s.extra !== undefined) Object.assign(e, { extra: s.extra });
  return e;
}

function same(t: { true(v: boolean, m?: string): void; deepEqual(a: unknown, b: unknown, m?: string): void }, got: unknown, sent: Error): void {
  const g = got as Error & { code?: string; extra?: unknown };
  t.true(Object.getPrototypeOf(g) === Object.getPrototypeOf(sent), `class ${sent.constructor.name}`);
  t.deepEqual([g.message, g.code, g.extra], [sent.message, (sent as { code?: string }).code, (sent as { extra?: unknown }).extra]);
  let a: unknown = g.cause, b: unknown = sent.cause;
  while (b instanceof Error) {
    t.deepEqual((a as Error).message, b.message);
    a = (a as Error).cause;
    b = b.cause;
  }
}

test('random cloneable values round-trip through a thread', async (t) => {
  await fc.assert(fc.asyncProperty(cloneable, async (v) => {
    t.deepEqual(await deferToThread(identity, v), v);
  }), { numRuns: 60 });
});

test('random cloneable values round-trip through blockingCallFromThread', async (t) => {
  await fc.assert(fc.asyncProperty(cloneable, async (v) => {
    t.deepEqual(await deferToThread(echoThroughReactor, v), v);
  }), { numRuns: 40 });
});

test('random error shapes thrown in a thread arrive as thrown', async (t) => {
  await fc.assert(fc.asyncProperty(errorShape, async (s) => {
    const sent = build(s as Shape);
    const got = await deferToThread(throwValue, sent).then(() => undefined, (e: unknown) => e);
    same(t, got, sent);
  }), { numRuns: 60 });
});

test('random error shapes thrown on the reactor arrive in the thread as thrown', async (t) => {
  await fc.assert(fc.asyncProperty(errorShape, async (s) => {
    const sent = build(s as Shape);
    const got = await deferToThread(throwThroughReactor, sent).then(() => undefined, (e: unknown) => e);
    same(t, got, sent);
  }), { numRuns: 40 });
});
