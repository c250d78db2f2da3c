// Child process: starts a redis-server through the harness, prints its
// pid and directory, then fails as a test would, without stopping it.
// The harness's exit hook must kill it (test/redis-harness.ts).
import { startRedis } from '../_helpers/redis.js';

startRedis({ persistence: true }).then((redis) => {
  console.log(JSON.stringify({ pid: redis.pid, dir: redis.dir }));
  throw new Error('a test failed with its redis-server running');
});
