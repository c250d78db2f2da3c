// Shared warm-up: rounds of `threads * 4` concurrent warm tasks (cpu(2000) in the
// thread, resolving with the thread's threadId) until every thread has run one.
// A plain "threads * 4 concurrent tasks" can be drained by the first thread that
// comes up in pools that dispatch to whichever worker is ready, so we check.
export async function warmup(threads, runWarm, maxRounds = 200) {
  const seen = new Set();
  for (let round = 0; round < maxRounds && seen.size < threads; round++) {
    const ids = await Promise.all(Array.from({ length: threads * 4 }, () => runWarm()));
    for (const id of ids) seen.add(id);
  }
  if (seen.size < threads) throw new Error(`warm-up reached only ${seen.size} of ${threads} threads`);
  return seen.size;
}
