// Child process: this thread's runtime fails to build after its reactor
// was made (a WeakMap that the callables table makes throws), then the
// package is imported again. Prints what each import threw, as JSON lines.
const Real = WeakMap;
const Sabotaged = function WeakMap(this: unknown, ...args: unknown[]): unknown {
  if (new Error().stack?.includes('CallableTable')) throw new Error('no WeakMap for the callables table');
  return Reflect.construct(Real, args, new.target ?? Real);
};
Sabotaged.prototype = Real.prototype;
globalThis.WeakMap = Sabotaged as unknown as WeakMapConstructor;
for (let i = 0; i < 2; i++) {
  try {
    require('reactor-threads');
    console.log(JSON.stringify({ ok: true }));
  } catch (e) {
    const err = e as Error;
    console.log(JSON.stringify({ ok: false, message: err.message, cause: (err.cause as Error | undefined)?.message }));
  }
}
