// ThreadPool's options at the public edge: an option it does not know is
// refused, never ignored. (Sizes and timeouts: test/threadpool-sizing.ts.)
import test from 'ava';
import { ThreadPool, type ThreadPoolOptions } from 'reactor-threads';

test('new ThreadPool refuses unknown options with a TypeError naming each', (t) => {
  const options = { maxThreads: 1, maxThread: 2, idleTimeOut: 5 } as ThreadPoolOptions;
  const err = t.throws(() => new ThreadPool(options), { instanceOf: TypeError });
  t.regex(err!.message, /unknown options 'maxThread', 'idleTimeOut'/);
  t.regex(err!.message, /maxThreads/, 'it lists the options there are');
});

test('new ThreadPool({ filename }) says that no worker file is needed, and what to pass instead', (t) => {
  const options = { filename: './worker.mjs' } as ThreadPoolOptions;
  const err = t.throws(() => new ThreadPool(options), { instanceOf: TypeError });
  t.regex(err!.message, /unknown option 'filename'/);
  t.regex(err!.message, /no worker file/);
  t.regex(err!.message, /threadable.*fromModule/);
});
