// Runs in a pool thread: async work that a synchronous rule cannot do itself.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { threadable } from 'reactor-threads';

export const loadConfig = threadable(async function loadConfig(dir) {
  return JSON.parse(await readFile(join(dir, 'banned-names.json'), 'utf8'));
});
