// A preload for a worker process whose clock runs 10 minutes ahead of
// Redis's: its Date.now() says so (test/bullmq-cancellation.ts).
const realNow = Date.now;
Date.now = (): number => realNow() + 10 * 60_000;
