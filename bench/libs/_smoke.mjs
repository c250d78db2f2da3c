// Smoke test: every adapter with threads: 2 — add, cpu, echo (1 MiB of 7s), close.
// Run: cd /work/main && node bench/libs/_smoke.mjs
const names = ['raw', 'reactor-threads', 'piscina', 'tinypool', 'workerpool', 'poolifier'];

let failed = 0;
for (const name of names) {
  const t0 = performance.now();
  let status = 'OK';
  let detail = '';
  let pool;
  try {
    const mod = await import(`./${name}.mjs`);
    pool = await mod.default({ threads: 2 });
    const tReady = performance.now();
    const sum = await pool.add(2, 3);
    if (sum !== 5) throw new Error(`add(2,3) = ${sum}`);
    const c = await pool.cpu(10);
    if (!(c > 0)) throw new Error(`cpu(10) = ${c}`);
    const buf = new ArrayBuffer(1 << 20);
    new Uint8Array(buf).fill(7);
    const back = await pool.echo(buf);
    if (!(back instanceof ArrayBuffer)) throw new Error(`echo returned ${Object.prototype.toString.call(back)}`);
    if (back.byteLength !== 1048576) throw new Error(`echo byteLength ${back.byteLength}`);
    const u8 = new Uint8Array(back);
    if (u8[0] !== 7 || u8[u8.length - 1] !== 7 || u8[u8.length >> 1] !== 7) throw new Error('echo bytes are not 7');
    const sent = buf.byteLength === 0 ? 'detached' : 'kept';
    detail = `create ${(tReady - t0).toFixed(0)} ms, transfers=${mod.transfers}, sent buffer ${sent}`;
    await pool.close();
    pool = undefined;
  } catch (err) {
    status = 'FAIL';
    failed++;
    detail = err?.stack ?? String(err);
    try { await pool?.close(); } catch {}
  }
  const ms = (performance.now() - t0).toFixed(0);
  console.log(`${status.padEnd(4)} ${name.padEnd(16)} ${ms.padStart(5)} ms  ${detail}`);
}
process.exitCode = failed ? 1 : 0;
// Deliberately no process.exit(): the process must end by itself once every pool is closed.
