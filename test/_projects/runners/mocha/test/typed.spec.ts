// A TypeScript test file, run with --import=tsx, using a TypeScript module's threadable.
import assert from 'node:assert/strict';
import { deferToThread } from 'reactor-threads';
import { shifted } from '../lib/typed.ts';

describe('threadables of a TypeScript module', () => {
  it('run in a thread', async () => {
    assert.equal(await deferToThread(shifted, 5), 15);
  });
});
