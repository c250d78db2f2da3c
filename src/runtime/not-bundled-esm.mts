// The ES module entry's check that the package is not bundled (see
// not-bundled.ts): index.mts imports it before anything else, so that it
// runs before the CommonJS code that an ESM bundle cannot run. The build
// folds not-bundled.js into it (scripts/bundle.mjs): it imports no
// CommonJS. Tests: test/bundlers.ts.
import { existsSync } from 'node:fs';
import { refuseBundle } from './not-bundled.js';

// A CommonJS bundle leaves import.meta empty; webpack writes the file's
// URL on the build machine, where the check passes (the CommonJS entry's
// check, which webpack's bundles also run, refuses them).
const here: unknown = import.meta.url;
refuseBundle(typeof here === 'string' && here.startsWith('file:') && existsSync(new URL('../thread/worker.js', here)));
