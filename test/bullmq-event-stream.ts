// How a BullMQThreadPool tells how far it has read its queue's events
// stream (event-stream.ts): stream ids compare as numbers, not text, and
// every event's id moves the position, whatever the event. No Redis.
import test from 'ava';
import { EventEmitter } from 'node:events';
import type { QueueEvents } from 'bullmq';
import { followReadPosition, streamIdAtLeast } from '../dist/bullmq/event-stream.js';

test('stream ids compare by their milliseconds, then their sequence, as numbers', (t) => {
  t.true(streamIdAtLeast('1700000000000-10', '1700000000000-9'));
  t.false(streamIdAtLeast('1700000000000-9', '1700000000000-10'));
  t.true(streamIdAtLeast('10000000000000-0', '9999999999999-5'));
  t.false(streamIdAtLeast('9999999999999-5', '10000000000000-0'));
  t.true(streamIdAtLeast('5-5', '5-5'));
  t.true(streamIdAtLeast('', ''), 'an empty stream is read');
  t.true(streamIdAtLeast('1-0', ''));
  t.false(streamIdAtLeast('', '1-0'), 'nothing read is before every event');
});

test('the read position follows the id of every event delivered, drained included, and never goes back', (t) => {
  const events = new EventEmitter();
  const read = followReadPosition(events as unknown as QueueEvents);
  const heard: unknown[] = [];
  events.on('completed', (args: unknown, id: string) => heard.push([args, id]));
  t.is(read(), '');
  events.emit('active', { jobId: 'a' }, '100-0');
  t.is(read(), '100-0');
  events.emit('completed', { jobId: 'a', returnvalue: 1 }, '100-1');
  t.is(read(), '100-1');
  t.deepEqual(heard, [[{ jobId: 'a', returnvalue: 1 }, '100-1']], 'listeners still get every event as it was');
  events.emit('drained', '101-0');
  t.is(read(), '101-0');
  events.on('error', () => {});
  events.emit('error', new Error('connection lost'));
  events.emit('progress', { jobId: 'b', data: '99-0' }, '100-5');
  t.is(read(), '101-0', 'an older id and an event without one leave it');
});
