// A preload that never finishes loading (test/preloads.ts).
await new Promise(() => {});
export {};
