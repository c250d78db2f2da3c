// A pool thread's entry when its owner loaded the package through a
// symlink (src/pool/collaborators.ts, startWorker). Node runs a Worker's
// file by its real path; this one requires the thread's entry by the
// link's path it is given (workerData.linkedEntry), under the thread's own
// resolution policy, as the thread's task modules will require the
// package, so the thread holds one copy. It loads nothing of the package
// itself, and is a file of its own, not a door into the bundle
// (scripts/bundle.mjs). A file rather than an eval script, which
// --input-type=module would make an ES module, where require is not
// defined. Pool thread only. Tests: test/symlinked-package.ts.
import { workerData } from 'node:worker_threads';

require((workerData as { linkedEntry: string }).linkedEntry);
