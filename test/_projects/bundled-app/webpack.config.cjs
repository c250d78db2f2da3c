// webpack -c webpack.config.cjs: the README's recipe.
module.exports = {
  mode: 'production',
  target: 'node',
  context: __dirname,
  entry: './main.mjs',
  output: { path: `${__dirname}/dist`, filename: 'webpack.cjs' },
  externals: { 'reactor-threads': 'commonjs reactor-threads', acorn: 'commonjs acorn' },
};
