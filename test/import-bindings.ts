// The binding finder (src/identity/import-bindings.ts) and what a thread
// makes of its findings (src/identity/binding-values.ts): each form of
// import and require() a module (or a bundle) may bind a name with, and
// the names it refuses, with what they are. Modules are written to a
// temporary folder whose node_modules has acorn.
import test from 'ava';
// The module objects themselves, as require() gives them.
import crypto = require('node:crypto');
import path = require('node:path');
import zlib = require('node:zlib');
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importBindingsOf } from '../dist/identity/import-bindings.js';
import { bindingValues } from '../dist/identity/binding-values.js';
import type { ImportBinding } from '../dist/base/wire.js';

const dir = mkdtempSync(join(tmpdir(), 'rt-bindings-'));
mkdirSync(join(dir, 'node_modules'));
symlinkSync(join(__dirname, '..', 'node_modules', 'acorn'), join(dir, 'node_modules', 'acorn'));
writeFileSync(join(dir, 'data.json'), '{ "answer": 42 }');
writeFileSync(join(dir, 'helper.cjs'), 'exports.twice = (x) => 2 * x;');
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

let modules = 0;
interface Module { url: string; find(fnText: string, free: string[], globals?: string[]): ImportBinding[] }
/** Writes `text` as a new module file (each test its own, as the finder caches by file). */
function module(text: string, ext = '.mjs'): Module {
  const file = join(dir, `m${++modules}${ext}`);
  writeFileSync(file, text);
  const url = pathToFileURL(file).href;
  return {
    url,
    find: (fnText, free, globals = []) => {
      if (!text.includes(fnText)) throw new Error(`not in the module: ${fnText}`);
      return importBindingsOf(url, fnText, free, globals, 'task', 'it is defined where no thread goes');
    },
  };
}

test('named, default, renamed and namespace imports are bound, resolved as the module resolves them', async (t) => {
  const fn = '() => [hash, zlib, path, parse, data, quoted]';
  const m = module(`import { createHash as hash } from 'node:crypto';
import zlib from 'node:zlib';
import * as path from 'node:path';
import { parse, 'tokenizer' as quoted } from 'acorn';
import data from './data.json' with { type: 'json' };
export const f = ${fn};`);
  const found = m.find(fn, ['hash', 'zlib', 'path', 'parse', 'data', 'quoted']);
  t.deepEqual(found, [
    { kind: 'named', name: 'hash', url: 'node:crypto', exportName: 'createHash' },
    { kind: 'default', name: 'zlib', url: 'node:zlib' },
    { kind: 'namespace', name: 'path', url: 'node:path' },
    { kind: 'named', name: 'parse', url: `bare:${m.url}|acorn`, exportName: 'parse' },
    { kind: 'default', name: 'data', url: new URL('data.json', m.url).href, attributes: { type: 'json' } },
    { kind: 'named', name: 'quoted', url: `bare:${m.url}|acorn`, exportName: 'tokenizer' },
  ]);
  const acorn = await import('acorn');
  const [hash, zlibDefault, pathNs, parse, data, quoted] = await bindingValues(found, 'task');
  t.is(hash, crypto.createHash);
  t.is(zlibDefault, zlib);
  t.is((pathNs as typeof path).join, path.join);
  t.is(parse, acorn.parse);
  t.deepEqual(data, { answer: 42 });
  t.is(quoted, acorn.tokenizer);
});

test('require() bindings are bound: a module object, destructured properties, a property, a relative file', async (t) => {
  const fn = 'function task() { return [crypto, join, separator, inflate, twice]; }';
  const m = module(`'use strict';
const crypto = require('node:crypto');
const { join, sep: separator } = require('node:path');
var inflate = require('node:zlib').inflateSync;
let { twice } = require('./helper.cjs');
module.exports = ${fn};`, '.cjs');
  const found = m.find(fn, ['crypto', 'join', 'separator', 'inflate', 'twice']);
  t.deepEqual(found, [
    { kind: 'module', name: 'crypto', specifier: 'node:crypto', base: m.url },
    { kind: 'property', name: 'join', specifier: 'node:path', base: m.url, property: 'join' },
    { kind: 'property', name: 'separator', specifier: 'node:path', base: m.url, property: 'sep' },
    { kind: 'property', name: 'inflate', specifier: 'node:zlib', base: m.url, property: 'inflateSync' },
    { kind: 'property', name: 'twice', specifier: './helper.cjs', base: m.url, property: 'twice' },
  ]);
  const [cryptoValue, join, sep, inflate, twice] = await bindingValues(found, 'task');
  t.is(cryptoValue, crypto);
  t.is(join, path.join);
  t.is(sep, path.sep);
  t.is(inflate, zlib.inflateSync);
  t.is((twice as (x: number) => number)(21), 42);
});

test('interop helpers around require() are bound: by name, and by shape once a minifier renamed them', async (t) => {
  const fn = '(code) => [acorn_1.default, import_zlib, z, c]';
  const m = module(`"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));
var i=(t,o,a)=>(a=t!=null?d(b(t)):{},c(o||!t||!t.__esModule?n(a,"default",{value:t,enumerable:!0}):a,t));
const acorn_1 = __importDefault(require("acorn"));
var import_zlib = __toESM(require("node:zlib"));
var z = i(require("node:zlib"), !0), c = i(require("node:crypto"));
module.exports = ${fn};`, '.cjs');
  const found = m.find(fn, ['acorn_1', 'import_zlib', 'z', 'c']);
  t.deepEqual(found.map((b) => 'interop' in b && [b.name, b.interop]), [
    ['acorn_1', 'default'], ['import_zlib', 'namespace'], ['z', 'namespace-node'], ['c', 'namespace'],
  ]);
  const [acornDefault, zlibNs, zNs, cNs] = await bindingValues(found, 'task') as Record<string, unknown>[];
  t.is(acornDefault!.default, require('acorn'));
  t.is(zlibNs!.gzipSync, zlib.gzipSync);
  t.is(zlibNs!.default, zlib);
  t.is(zNs!.default, zlib);
  t.is(cNs!.createHash, crypto.createHash);
});

test('a global that the module declares is bound; a true global stays a global', (t) => {
  const fn = '(text) => crypto.createHash("sha256").update(text).digest("hex").length + Math.max(1, 2)';
  const m = module(`import * as crypto from 'node:crypto';\nexport const f = ${fn};`);
  t.deepEqual(m.find(fn, [], ['crypto', 'Math']), [{ kind: 'namespace', name: 'crypto', url: 'node:crypto' }]);
});

test('names that are not imports are refused, each named with what it is', (t) => {
  const fn = '() => [offset, helper, counter, Thing, createHash]';
  const m = module(`import { createHash } from 'node:crypto';
const offset = 1;
function helper() {}
let counter = 0;
counter++;
class Thing {}
export const f = ${fn};`);
  const e = t.throws(() => m.find(fn, ['offset', 'helper', 'counter', 'Thing', 'createHash']));
  t.is((e as { code?: string }).code, 'ERR_FUNCTION_NOT_SENDABLE');
  // (Its import, createHash, is fine: not named.)
  t.regex(e!.message, /^task uses 'offset', 'helper', 'counter', 'Thing' from outside its own body/);
  t.notRegex(e!.message, /createHash/);
  t.regex(e!.message, /'offset' is a const of \S+m\d+\.mjs, not an import; 'helper' is a function of/);
  t.regex(e!.message, /'counter' is a variable that \S+ assigns to, not an import; 'Thing' is a class of/);
  t.regex(e!.message, /It is defined where no thread goes: let it use only imports .* or move it into a module of its own/);
});

test('a name is looked up where the function is, not at the module\'s top level', (t) => {
  const fn = '() => readFileSync';
  const m = module(`import { readFileSync } from 'node:fs';
export function make() { const readFileSync = 1; return ${fn}; }`);
  t.regex(t.throws(() => m.find(fn, ['readFileSync']))!.message, /'readFileSync' is a const of/);
});

test('CommonJS\'s own names are refused as such', (t) => {
  const fn = '() => require("node:os").cpus()';
  const m = module(`module.exports = ${fn};`, '.cjs');
  t.regex(t.throws(() => m.find(fn, ['require']))!.message, /'require' is the CommonJS module's own require, not an import/);
});

test('a name a bundle inlined from a package is refused, naming the package to mark external', (t) => {
  const fn = 'function task(code) { return [parse(code), import_lodash.default, local]; }';
  const m = module(`// node_modules/acorn/dist/acorn.mjs
function parse(input) { return input; }

// ../node_modules/.pnpm/lodash@4/node_modules/lodash/lodash.js
var require_lodash = __commonJS({ "../node_modules/lodash/lodash.js"(exports, module) { module.exports = {}; } });

// src/main.mjs
var local = new Set();
var import_lodash = __toESM(require_lodash());
export var f = threadable(${fn});`);
  const e = t.throws(() => m.find(fn, ['parse', 'import_lodash', 'local']));
  t.regex(e!.message, /'parse' is not an import: the bundle inlined it from the package 'acorn'/);
  t.regex(e!.message, /'import_lodash' is not an import: the bundle inlined it from the package 'lodash'/);
  t.regex(e!.message, /'local' is a var of .*, not an import/);
  t.regex(e!.message, /mark 'acorn', 'lodash' external when bundling \(esbuild --external:acorn --external:lodash, or --packages=external/);
});

test('a module that cannot be parsed refuses free names, and leaves globals alone', (t) => {
  const fn = '(x: number) => x + offset';
  const m = module(`const offset: number = 1;\nexport const f = ${fn};`);
  t.regex(t.throws(() => m.find(fn, ['offset']))!.message, /its module could not be read to find its imports/);
  const pure = '(x: number) => Math.abs(x)';
  const n = module(`export type T = number;\nexport const f = ${pure};`);
  t.deepEqual(n.find(pure, [], ['Math']), []);
});

test('one text in two scopes that give a name two meanings is refused, naming it and only it, not bound to the first', (t) => {
  const fn = 'function show(x) { return inspect(format(x)); }';
  const m = module(`import { format, inspect } from 'node:util';
export const a = ${fn};
export function b() {
  const format = (x) => 'LOCAL ' + x;
  return ${fn};
}`);
  const message = t.throws(() => m.find(fn, ['format', 'inspect']))!.message;
  t.regex(message, /'format'.*more than one place.*that name means different things/s);
  t.notRegex(message, /'inspect'/, 'inspect means the same in both');
});

test('one text in two scopes that mean the same is bound once', (t) => {
  const fn = 'function show(x) { return format(x); }';
  const m = module(`import { format } from 'node:util';
export const a = ${fn};
export function b() { return ${fn}; }`);
  t.deepEqual(m.find(fn, ['format']), [{ kind: 'named', name: 'format', url: 'node:util', exportName: 'format' }]);
});

/** Runs `f` with these environment variables (undefined: unset), then puts them back. */
function withEnv<T>(vars: Record<string, string | undefined>, f: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  };
  set(vars);
  try { return f(); } finally { set(saved); }
}
/** As under a test runner, which may run a module as other text than its file's. */
const asUnderJest = <T>(f: () => T): T => withEnv({ JEST_WORKER_ID: '1' }, f);
/** As in a plain process, with no loader named in NODE_OPTIONS (test:cpus8 names a helper there). */
const asPlainNode = <T>(f: () => T): T => withEnv({ JEST_WORKER_ID: undefined, NODE_OPTIONS: undefined }, f);

test('a function whose text is not in the module that registered it is refused: it was defined in another', (t) => {
  const m = module(`import { format } from 'node:util';
export const unrelated = 1;`);
  const elsewhere = 'function show(x) { return format(x); }';
  t.throws(() => asPlainNode(() => importBindingsOf(m.url, elsewhere, ['format'], [], 'task', 'why')),
    { message: /'format'.*not defined in .*module that defines it/s });
  t.deepEqual(asPlainNode(() => importBindingsOf(m.url, 'function pure(x) { return x; }', [], ['crypto'], 'task', 'why')), [],
    'globals stay globals');
});

test('a function a runner reprinted is found by its name and parameters', (t) => {
  const m = module(`import { format } from 'node:util';
export function show(x) {
  return format(x);
}
export function other(format) { return format; }`);
  const reprinted = 'function show(x) { return format( x ); }';
  t.deepEqual(asUnderJest(() => importBindingsOf(m.url, reprinted, ['format'], [], 'task', 'why')),
    [{ kind: 'named', name: 'format', url: 'node:util', exportName: 'format' }]);
});

test('a reprinted anonymous text is refused when an inner scope declares one of its names too', (t) => {
  const m = module(`import { format } from 'node:util';
export function b() { const format = String; return format; }`);
  const changed = '(x) => format( x )';
  t.throws(() => asUnderJest(() => importBindingsOf(m.url, changed, ['format'], [], 'task', 'why')),
    { message: /'format'.*does not have its text/s });
});
