// A minimal Redis client for tests: one connection per call, commands
// written in RESP over node:net, replies parsed by hand (RESP2: simple
// strings, errors, integers, bulk strings, arrays). It lets the Redis
// harness wait for PING, and its tests talk to a server, with no client
// library. Test thread only. Used by test/_helpers/redis.ts and
// test/redis-harness.ts.
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** An error reply (`-ERR ...`, `-NOAUTH ...`): returned in the list of replies, not thrown. */
export class RespError extends Error {
  override name = 'RespError';
}

/** A reply: simple and bulk strings as strings, integers as numbers, a null bulk or array as null. */
export type RespReply = string | number | null | RespError | RespReply[];

/** Where a server listens, and its password if it has one (RedisServer.connection is one). */
export interface RespTarget {
  host: string;
  port: number;
  password?: string;
  /** TLS, trusting this CA (a PEM). */
  tls?: { ca: string };
}

/** One command in RESP: an array of bulk strings. */
export function encodeCommand(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Parses the reply that starts at `at`: its value and where it ends, or undefined while `buf` holds only part of it. */
function parseReply(buf: Buffer, at: number): { value: RespReply; end: number } | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+': return { value: line, end: next };
    case '-': return { value: new RespError(line), end: next };
    case ':': return { value: Number(line), end: next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      if (buf.length < next + n + 2) return undefined;
      return { value: buf.toString('utf8', next, next + n), end: next + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const items: RespReply[] = [];
      let end = next;
      for (let i = 0; i < n; i++) {
        const item = parseReply(buf, end);
        if (item === undefined) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default: throw new Error(`unexpected RESP reply type ${JSON.stringify(type)} in ${JSON.stringify(buf.toString('utf8', at, eol))}`);
  }
}

/**
 * Sends `commands` in one write on a new connection and resolves with
 * their replies, in order, then closes it. With `target.password`, sends
 * AUTH first (its reply is not returned; an error reply to it rejects).
 * Rejects when the connection fails, closes early, or the replies take
 * longer than `timeoutMs`, saying how many arrived.
 */
export function sendCommands(target: RespTarget, commands: readonly (readonly string[])[], timeoutMs = 2000): Promise<RespReply[]> {
  const auth = target.password === undefined ? [] : [['AUTH', target.password]];
  const all = [...auth, ...commands];
  return new Promise((resolve, reject) => {
    const replies: RespReply[] = [];
    let buf = Buffer.alloc(0);
    let settled = false;
    const socket = target.tls
      ? tlsConnect({ host: target.host, port: target.port, ca: target.tls.ca })
      : connect({ host: target.host, port: target.port });
    const finish = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== undefined) reject(error);
      else if (auth.length > 0 && replies[0] instanceof RespError) reject(new Error(`AUTH to ${target.host}:${target.port} failed: ${replies[0].message}`));
      else resolve(replies.slice(auth.length));
    };
    const timer = setTimeout(() => {
      finish(new Error(`${target.host}:${target.port} sent ${replies.length} of ${all.length} replies in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(all.map(encodeCommand).join('')));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        for (let reply = parseReply(buf, 0); reply !== undefined; reply = parseReply(buf, 0)) {
          replies.push(reply.value);
          buf = buf.subarray(reply.end);
        }
      } catch (error) {
        finish(error as Error);
        return;
      }
      if (replies.length >= all.length) finish(undefined);
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => {
      finish(new Error(`${target.host}:${target.port} closed the connection after ${replies.length} of ${all.length} replies`));
    });
  });
}
