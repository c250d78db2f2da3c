// The ES module entry: the same single instance as the CommonJS entry
// (index.js), so ESM and CJS importers in one program share one reactor.
export * from './index.js';
