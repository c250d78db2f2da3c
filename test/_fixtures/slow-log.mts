// Loaded on a reactor by the first call that names it (import it with a
// fresh query for a fresh load): it takes 300 ms (or `ms` from its query),
// so the calling thread's later messages wait behind that call. Appends to
// the reactor's log, and tells it (reactorLog.loaded) the instant its load
// ends, before the reactor serves anything that waited behind it.
await new Promise((r) => setTimeout(r, Number(new URL(import.meta.url).searchParams.get('ms') ?? 300)));
(globalThis as { reactorLog?: { loaded?(): void } }).reactorLog?.loaded?.();

export function logSlowly(entry: string): void {
  (globalThis as { reactorLog?: string[] }).reactorLog?.push(entry);
}
