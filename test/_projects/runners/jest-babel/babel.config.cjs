// ES module syntax in test files, run by jest as CommonJS.
module.exports = { plugins: ['@babel/plugin-transform-modules-commonjs'] };
