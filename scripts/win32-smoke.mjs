// The smoke check of the win32-x64 prebuild (scripts/win32.sh runs it
// under wine with Node for Windows, from the repository's root): the addon
// loads (on Windows the prebuild is the only candidate that can), and a
// plain function, a threadable module found by its file: URL with a drive
// letter, blockingCallFromThread, blockingCallInThread and an error's
// class all cross threads. Its last line starts `win32-smoke: ok`, or it
// exits 1.
import { createRequire } from 'node:module';
import { blockingCallInThread, deferToThread, fromModule } from '../dist/index.js';

const require = createRequire(import.meta.url);
const bridge = require('../dist-test/_fixtures/bridge-tasks.cjs');
const check = (what, got, want) => {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${what}: ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
  console.log(`${what}: ${JSON.stringify(got)}`);
};
try {
  if (process.platform !== 'win32') throw new Error(`not on Windows: ${process.platform}`);
  console.log(`Node ${process.version} ${process.platform}-${process.arch}, module URL ${import.meta.url}`);
  check('deferToThread', await deferToThread((a, b) => a + b, 2, 3), 5);
  const add = fromModule(require.resolve('../dist-test/_fixtures/tasks.cjs'), 'add');
  check('fromModule with a Windows path', await deferToThread(add, 20, 22), 42);
  check('blockingCallFromThread', (await deferToThread(bridge.callReactor, 'addOnReactor', 2, 3)).sum, 5);
  check('blockingCallInThread', blockingCallInThread(add, 1, 2), 3);
  const error = await deferToThread(() => { throw new RangeError('thrown in a thread'); }).catch((e) => e);
  check('error class', [error?.constructor?.name, error?.message], ['RangeError', 'thrown in a thread']);
  console.log('win32-smoke: ok');
} catch (e) {
  console.log(`win32-smoke: FAILED: ${e?.stack ?? e}`);
  process.exitCode = 1;
}
