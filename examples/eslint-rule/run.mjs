// Drives rule.mjs as a linter would (synchronously), on a few identifiers,
// and prints its reports: node examples/eslint-rule/run.mjs
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import rule from './rule.mjs';

const reports = [];
const context = { cwd: dirname(fileURLToPath(import.meta.url)), report: (r) => reports.push(r) };
const visitor = rule.create(context);
for (const name of ['foo', 'eval', 'bar', 'arguments']) visitor.Identifier({ type: 'Identifier', name });
for (const r of reports) console.log(rule.meta.messages[r.messageId].replace('{{name}}', r.data.name));
