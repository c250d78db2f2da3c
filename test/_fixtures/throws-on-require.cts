// A preload whose top-level code throws: a thread started with it in its
// execArgv (--require) dies before the thread's own entry runs.
throw new RangeError('thrown at require');
