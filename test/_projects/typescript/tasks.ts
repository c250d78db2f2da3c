// Threadables in a TypeScript module: types, a built-in import, module scope.
import { createHash } from 'node:crypto';
import { threadable } from 'reactor-threads';

interface Job { text: string; rounds: number }

export const digest = threadable(function digest(job: Job): string {
  let d: string = job.text;
  for (let i = 0; i < job.rounds; i++) d = createHash('sha256').update(d).digest('hex');
  return d.slice(0, 8);
});

export const fails = threadable(function fails(why: string): never {
  throw new Error(why);  // line 14: the stack must point here
});
