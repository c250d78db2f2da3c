// The module ids vite writes into a module it transformed for vitest
// (src/identity/vitest-modules.ts), turned into URLs a thread imports: an
// absolute path outside the project root is `/@fs/` and the path with
// forward slashes, on Windows `/@fs/C:/...`.
import test from 'ava';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, type AstNode } from '../dist/identity/parsers.js';
import { viteImportBinding } from '../dist/identity/vitest-modules.js';

/** The declarator vite makes of `import * as m from '<file>'`, for a file outside the root. */
function declaratorFor(file: string): AstNode {
  const slashed = file.replace(/\\/g, '/');
  const id = `/@fs${slashed.startsWith('/') ? '' : '/'}${slashed}`;
  const program = parse(`const __vite_ssr_import_0__ = await __vite_ssr_import__(${JSON.stringify(id)});`,
    { ecmaVersion: 'latest', sourceType: 'module' });
  const declaration = (program.body as AstNode[])[0]!;
  return (declaration.declarations as AstNode[])[0]!;
}

test("a /@fs/ id names the file by its absolute path, with a drive letter on Windows", (t) => {
  const file = join(__dirname, '_fixtures', 'tasks-esm.mjs');
  const binding = viteImportBinding(pathToFileURL(join(__dirname, 'x.test.mjs')).href, '__vite_ssr_import_0__', declaratorFor(file));
  t.is(binding?.kind === 'namespace' ? binding.url : undefined, pathToFileURL(file).href);
});
