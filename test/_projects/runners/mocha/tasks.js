// A module of threadables, imported by the thread itself.
const { threadable } = require('reactor-threads');

exports.shout = threadable(function shout(s) { return `${s.toUpperCase()}!`; });
