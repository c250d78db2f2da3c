// The ES module entry: the same single instance as the CommonJS entry
// (index.js), so ESM and CJS importers in one program share one reactor.
// It loads index.js with require() and names each export, rather than
// `export * from './index.js'`, for two reasons. On Node 20 a CommonJS
// module that throws while an ES module imports it statically is also
// reported as an uncaught exception, so a failed import (no loadable
// addon) ended the process even when the importer caught it
// (nodejs/node#51603). And `export *` from CommonJS re-exported its
// `__esModule` marker as a named export. test/package-entries.ts checks
// that the names below are the CommonJS entry's.
// First, the check that the package was not bundled.
import './runtime/not-bundled-esm.mjs';
import { createRequire } from 'node:module';
import type * as Api from './index.js';

const api = createRequire(import.meta.url)('./index.js') as typeof Api;

export type * from './index.js';

export const {
  deferToThread, deferToThreadPool, callMultipleInThread, blockingCallFromThread, blockingCallInThread,
  reactor, threadable, fromModule, transfer, currentTask, TASK_CHANNEL, TASK_RUN_CHANNEL,
} = api;

// Classes: a value for `new` and `instanceof`, and a type of the same name.
export const ThreadPool = api.ThreadPool;
export type ThreadPool = Api.ThreadPool;
export const ReactorThreadsError = api.ReactorThreadsError;
export type ReactorThreadsError = Api.ReactorThreadsError;
export const PoolStoppedError = api.PoolStoppedError;
export type PoolStoppedError = Api.PoolStoppedError;
export const ThreadDiedError = api.ThreadDiedError;
export type ThreadDiedError = Api.ThreadDiedError;
export const FunctionNotSendableError = api.FunctionNotSendableError;
export type FunctionNotSendableError = Api.FunctionNotSendableError;
export const ValueNotCloneableError = api.ValueNotCloneableError;
export type ValueNotCloneableError = Api.ValueNotCloneableError;
export const RemoteError = api.RemoteError;
export type RemoteError = Api.RemoteError;
export const CancelledError = api.CancelledError;
export type CancelledError = Api.CancelledError;
export const ReactorGoneError = api.ReactorGoneError;
export type ReactorGoneError = Api.ReactorGoneError;
export const WouldDeadlockError = api.WouldDeadlockError;
export type WouldDeadlockError = Api.WouldDeadlockError;
export const CallTimeoutError = api.CallTimeoutError;
export type CallTimeoutError = Api.CallTimeoutError;
export const ThreadTerminatingError = api.ThreadTerminatingError;
export type ThreadTerminatingError = Api.ThreadTerminatingError;
export const PoolStarvedError = api.PoolStarvedError;
export type PoolStarvedError = Api.PoolStarvedError;
export const CallableReleasedError = api.CallableReleasedError;
export type CallableReleasedError = Api.CallableReleasedError;
export const TaskTimeoutError = api.TaskTimeoutError;
export type TaskTimeoutError = Api.TaskTimeoutError;
export const QueueFullError = api.QueueFullError;
export type QueueFullError = Api.QueueFullError;
export const ModuleNotAllowedError = api.ModuleNotAllowedError;
export type ModuleNotAllowedError = Api.ModuleNotAllowedError;
export const PayloadTooLargeError = api.PayloadTooLargeError;
export type PayloadTooLargeError = Api.PayloadTooLargeError;
export const UnreadablePayloadError = api.UnreadablePayloadError;
export type UnreadablePayloadError = Api.UnreadablePayloadError;
export const JobLostError = api.JobLostError;
export type JobLostError = Api.JobLostError;
