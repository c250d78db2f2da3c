// A module whose top-level code throws: loading it in a thread fails.
throw new RangeError('thrown at import');
export const f = (): number => 1;
