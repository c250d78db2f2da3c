// A module whose top-level code ends the thread that imports it.
process.exit(9);

export function neverRuns(): string {
  return 'unreachable';
}
