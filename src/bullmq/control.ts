// What callers tell a queue's workers beside its jobs: today, "cancel job
// N". It travels as a custom event on a queue of its own (no jobs, only
// events), so workers read only these and not every job's events, and a
// worker that reconnects reads what it missed (events are a Redis stream).
// Caller's thread and the worker's main thread. Tests: test/bullmq-cancellation.ts.
import type { QueueEvents, QueueEventsOptions } from 'bullmq';
import { followReadPosition, streamIdAtLeast } from './event-stream.js';

/** The event name of a cancellation: `{ eventName, jobId }`. */
export const CANCEL_EVENT = 'reactor-threads:cancel';

/** The name of the queue that carries `queueName`'s control events. */
export function controlQueueName(queueName: string): string {
  return `${queueName}.reactor-threads-control`;
}

/** How long a worker waits before it reads its control events again after their reader ended. */
const RESTART_MS = 1000;

/** A Lua command: the id of the first entry of a stream after id ARGV[1], or nil when there is none. */
const NEXT_ENTRY_COMMAND = 'reactorThreadsNextEntry';
const NEXT_ENTRY_LUA = "for _, e in ipairs(redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', 2)) do "
  + 'if e[1] ~= ARGV[1] then return e[1] end end return false';

/**
 * Worker: reads the control events of `events` (made with autorun: false
 * and `lastEventId: from`) until `closed()`. BullMQ's reader ends for good
 * on an entry it cannot parse (a 'completed' event whose returnvalue is
 * not JSON, which anyone who can write the stream may add): cancellations
 * then stopped reaching this worker, in silence. So once it ends, this
 * reports why (`onError`) and runs it again from the last entry it
 * delivered, skipping the one after it when it ended on JSON.parse's
 * SyntaxError: that one, which it could not read, alone; at once then,
 * else after RESTART_MS.
 */
export async function readControlEvents(events: QueueEvents, from: string, closed: () => boolean,
  onError: (e: unknown) => void): Promise<void> {
  const read = followReadPosition(events);
  /** Where the last run started: the entry it could not read, when it resumed after one. */
  let start = from;
  for (;;) {
    let unreadable: boolean;
    try {
      // (Resolves once events.close() ends the loop.)
      await events.run();
      return;
    } catch (e) {
      if (closed()) return;
      onError(e);
      // (JSON.parse's: an entry it could not read. Anything else, it resumes where it was, skipping nothing.)
      unreadable = e instanceof SyntaxError;
    }
    if (closed()) return;
    // (It delivered nothing since its start: the entry after the start is the one it could not read.)
    const after = streamIdAtLeast(read(), start) ? read() : start;
    // (Read at each run's start: the option it was made with, set again for the run that resumes.)
    const opts = events.opts as QueueEventsOptions;
    opts.lastEventId = start = after;
    let skipped = false;
    if (unreadable) {
      try {
        const next = await nextEntry(events, after);
        if (typeof next === 'string') {
          opts.lastEventId = start = next;
          skipped = true;
        }
      } catch {
        // (Redis cannot be reached: the run below meets that too, and reports it.)
      }
    }
    // A pause, but after an entry skipped: a loop that ends at once
    // (Redis gone) must not spin, and each unreadable entry paused the
    // cancellations behind it by RESTART_MS (helper-151: 15 s for 15).
    if (!skipped) await new Promise((r) => setTimeout(r, RESTART_MS));
    if (closed()) return;
  }
}

/** The id of the first entry of `events`' stream after `after`. */
async function nextEntry(events: QueueEvents, after: string): Promise<unknown> {
  const client = await events.getBackend().client;
  if (!defined.has(client)) {
    client.defineCommand(NEXT_ENTRY_COMMAND, { numberOfKeys: 1, lua: NEXT_ENTRY_LUA });
    defined.add(client);
  }
  return await client.runCommand(NEXT_ENTRY_COMMAND, [events.keys.events!, after]);
}

/** The clients NEXT_ENTRY_COMMAND is defined on. */
const defined = new WeakSet<object>();

/** A Lua command: Redis's clock in ms (the clock of its streams' ids). */
const NOW_COMMAND = 'reactorThreadsNowMs';
const NOW_LUA = "local t = redis.call('TIME') return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";
/** The clients NOW_COMMAND is defined on. */
const timed = new WeakSet<object>();

/**
 * Redis's clock, in ms: where a stream's entries of a moment ago begin (an
 * entry's id is that clock's ms). A worker whose own clock ran more than a
 * minute ahead read its control stream from past every cancellation
 * (helper-160).
 */
export async function serverNowMs(events: QueueEvents): Promise<number> {
  const client = await events.getBackend().client;
  if (!timed.has(client)) {
    client.defineCommand(NOW_COMMAND, { numberOfKeys: 1, lua: NOW_LUA });
    timed.add(client);
  }
  return Number(await client.runCommand(NOW_COMMAND, [events.keys.events!]));
}
