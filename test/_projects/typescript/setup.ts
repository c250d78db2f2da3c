// A TypeScript module each thread imports first (the pool's preload).
const flag: boolean = true;
(globalThis as { setupRan?: boolean }).setupRan = flag;
