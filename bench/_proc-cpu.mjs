// CPU time of another process, or of one thread, from Linux's /proc: what
// process.cpuUsage() cannot tell (redis-server's time; a worker's main
// thread apart from its other threads). NaN where there is no /proc.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ). */
const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** The CPU time (user + system, ms, in 1/USER_HZ steps) used by process `pid`, or by its thread `tid`. */
export function cpuMsOf(pid, tid) {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    // (After "pid (comm) ", utime and stime are the 12th and 13th fields.)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
  } catch {
    return NaN;
  }
}
