// Loaded on a reactor by the first call that names it (import it with a
// fresh query for a fresh load): it takes 300 ms (or `ms` from its query),
// so the calling thread's later messages wait behind that call. Appends to
// the reactor's log.
await new Promise((r) => setTimeout(r, Number(new URL(import.meta.url).searchParams.get('ms') ?? 300)));

export function logSlowly(entry: string): void {
  (globalThis as { reactorLog?: string[] }).reactorLog?.push(entry);
}
