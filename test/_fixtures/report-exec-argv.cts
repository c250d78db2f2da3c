// Forked by tasks.cts execArgvHere: sends its process.execArgv to its parent.
process.send!(process.execArgv, () => process.exit(0));
