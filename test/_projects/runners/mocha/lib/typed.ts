// A TypeScript module of threadables that is no test file, though this
// comment names a test at a line's start:
/*
it('works', () => {});
*/
import { threadable } from 'reactor-threads';

const OFFSET: number = 10;
export const shifted = threadable(function shifted(x: number): number { return x + OFFSET; });
