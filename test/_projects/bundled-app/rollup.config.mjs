// rollup -c: the README's recipe.
export default {
  input: 'main.mjs',
  external: ['reactor-threads', 'acorn', /^node:/],
  output: { file: 'dist/rollup.mjs', format: 'es' },
};
