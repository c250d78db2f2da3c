// The ES module entry: the same single instance as the CommonJS entry
// (index.js), so ESM and CJS importers in one program share one reactor.
// First, the check that the package was not bundled.
import './runtime/not-bundled-esm.mjs';
export * from './index.js';
