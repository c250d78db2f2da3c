// The README's TypeScript example (test/readme-examples.ts keeps them equal).
import { deferToThread } from 'reactor-threads';
import { digest } from './tasks.ts';

console.log(await deferToThread(digest, { text: 'hello', rounds: 2 }));
