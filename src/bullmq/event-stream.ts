// How far a pool has read its queue's events stream, and where that
// stream ends. A job that finished and was then trimmed (keepFinished)
// is gone from Redis while its completed or failed event may still be
// on its way to the pool: BullMQ writes that event in the same script
// that finishes the job and trims old ones. So a job found gone is lost
// only once the pool has read past the stream's end as it was when the
// job was found gone; until then its event may yet come. Caller's thread.
import type { QueueEvents } from 'bullmq';

/** Redis stream ids ('<ms>-<seq>') compared in order; '' (nothing read) comes before every id. */
export function streamIdAtLeast(a: string, b: string): boolean {
  if (b === '') return true;
  if (a === '') return false;
  const aDash = a.indexOf('-');
  const bDash = b.indexOf('-');
  const ms = compareDigits(a.slice(0, aDash), b.slice(0, bDash));
  return ms > 0 || (ms === 0 && compareDigits(a.slice(aDash + 1), b.slice(bDash + 1)) >= 0);
}

/** Numbers written in digits without leading zeros (as Redis writes ids): the longer is larger. */
function compareDigits(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

const STREAM_ID = /^\d+-\d+$/;

/**
 * Follows the id of each event `events` delivers and returns a reader of
 * the newest one ('' before the first). QueueEvents has no listener for
 * every event; each of its emits passes the event's stream id last (a
 * 'drained' event only that), so its emit is wrapped.
 */
export function followReadPosition(events: QueueEvents): () => string {
  let read = '';
  const emit = events.emit.bind(events) as (event: string, ...args: unknown[]) => boolean;
  const following = (event: string, ...args: unknown[]): boolean => {
    const last = args[args.length - 1];
    if (typeof last === 'string' && STREAM_ID.test(last) && streamIdAtLeast(last, read)) read = last;
    return emit(event, ...args);
  };
  events.emit = following as QueueEvents['emit'];
  return () => read;
}

/** A Lua command: the id of a stream's newest entry, or nil when it has none. */
export const STREAM_END_COMMAND = 'reactorThreadsStreamEnd';
export const STREAM_END_LUA = "local e = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1] if e then return e[1] end return false";
