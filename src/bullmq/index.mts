// reactor-threads/bullmq's ES module entry: the CommonJS entry's single
// instance, named export by export (see src/index.mts for why not
// `export *`). test/package-entries.ts checks the names against it.
// First, the check that the package was not bundled (src/index.mts).
import '../runtime/not-bundled-esm.mjs';
import { createRequire } from 'node:module';
import type * as Api from './index.js';

const api = createRequire(import.meta.url)('./index.js') as typeof Api;

export type * from './index.js';

export const { serveBullMQ, notRetryable } = api;

// Classes: a value for `new` and `instanceof`, and a type of the same name.
export const BullMQThreadPool = api.BullMQThreadPool;
export type BullMQThreadPool = Api.BullMQThreadPool;
export const JobLostError = api.JobLostError;
export type JobLostError = Api.JobLostError;
export const ModuleNotAllowedError = api.ModuleNotAllowedError;
export type ModuleNotAllowedError = Api.ModuleNotAllowedError;
export const PayloadTooLargeError = api.PayloadTooLargeError;
export type PayloadTooLargeError = Api.PayloadTooLargeError;
export const UnreadablePayloadError = api.UnreadablePayloadError;
export type UnreadablePayloadError = Api.UnreadablePayloadError;
