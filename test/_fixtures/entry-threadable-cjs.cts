// Child process: a CommonJS entry script whose threadables use its
// imports, which TypeScript compiles to require() and __importDefault().
import { deferToThread, threadable } from 'reactor-threads';
import { createHash } from 'node:crypto';
import acorn from 'acorn';

const digest = threadable(function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
});
const statements = threadable(function statements(code: string): number {
  return acorn.parse(code, { ecmaVersion: 'latest' }).body.length;
});
void (async () => {
  console.log(JSON.stringify({ digest: await deferToThread(digest, 'hello'), statements: await deferToThread(statements, 'a; b') }));
})();
