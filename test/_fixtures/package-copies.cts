// Child process: several copies of the package in the main thread, as jest
// makes one per test file (each with its own module registry). Each copy
// gets its own reactor; a copy nothing reaches any more is retired, and
// the main thread's earlier copy serves Workers again. Prints one JSON
// line of what it saw; test/package-copies.ts checks it.
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';

type Package = typeof import('reactor-threads');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const entry = require.resolve('reactor-threads');
const dist = dirname(entry);

/** Forgets the package's modules, as jest drops a finished test file's registry. */
function forgetCopies(): void {
  for (const file of Object.keys(require.cache)) if (file.startsWith(dist)) delete require.cache[file];
  // (Node also lists each module required from here as a child of this one.)
  module.children = module.children.filter((child) => !child.filename.startsWith(dist));
}

/** A new copy of the package: its modules loaded again, as a new module registry would. */
function loadCopy(): Package {
  forgetCopies();
  return require(entry) as Package;
}

/** The reactor of the copy loaded last, and the addon's answer to which reactor is the main one. */
function copyInternals(): { reactorId: number; mainReactor: () => number } {
  const { thisThread } = require(`${dist}/runtime/this-thread.js`) as { thisThread(): { core: { id: number } } };
  const { native } = require(`${dist}/reactor/native.js`) as { native: { mainReactor(): number } };
  return { reactorId: thisThread().core.id, mainReactor: () => native.mainReactor() };
}

/** A task, and a call back into the copy's thread from the task. */
async function exercise(copy: Package): Promise<[number, number]> {
  const pool = new copy.ThreadPool({ maxThreads: 1 });
  pool.start();
  try {
    const sum = await copy.deferToThreadPool(copy.reactor, pool, (a: number, b: number) => a + b, 2, 3);
    const called = await copy.deferToThreadPool(copy.reactor, pool, (f: (x: number) => number) => f(41), (x: number) => x + 1);
    return [sum, called];
  } finally {
    await pool.stop();
  }
}

/** A Worker outside any pool calls the main thread (whichever copy serves it). */
function callFromWorker(): Promise<string> {
  const source = `
    const { parentPort } = require('node:worker_threads');
    const { blockingCallFromThread, fromModule, reactor } = require(${JSON.stringify(entry)});
    parentPort.postMessage(blockingCallFromThread(reactor, fromModule('node:path', 'basename'), '/served/by-main'));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

async function main(): Promise<void> {
  const first = loadCopy();
  const firstCopy = copyInternals();
  let second: Package | undefined = loadCopy();
  const secondCopy = copyInternals();
  const mainWhileTwo = firstCopy.mainReactor();
  const tasks = [await exercise(first), await exercise(second)];
  const workerWhileTwo = await callFromWorker();
  // The second copy goes, as jest drops a finished test file's registry.
  second = undefined;
  forgetCopies();
  for (let i = 0; i < 50 && firstCopy.mainReactor() !== firstCopy.reactorId; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  const mainAfter = firstCopy.mainReactor();
  const workerAfter = await callFromWorker();
  const firstAfter = await exercise(first);
  console.log(JSON.stringify({
    first: firstCopy.reactorId, second: secondCopy.reactorId, mainWhileTwo, tasks, workerWhileTwo,
    mainAfter, workerAfter, firstAfter,
  }));
}

main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });
