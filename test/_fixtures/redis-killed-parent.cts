// Child process: starts a redis-server through the harness, prints its
// pid, then waits to be SIGKILLed, which runs no exit hook: the server
// must die with it all the same (test/redis-harness.ts).
import { startRedis } from '../_helpers/redis.js';

void startRedis().then((redis) => {
  console.log(JSON.stringify({ pid: redis.pid }));
  setInterval(() => {}, 1000);
});
