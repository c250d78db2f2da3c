// Runs a fixture script in a child process, for behaviour that can hang or
// end a process. The child is killed after `timeoutMs`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Milliseconds from the spawn to the child's first output on stdout (undefined: none). */
  firstOutputMs: number | undefined;
  timedOut: boolean;
}

export function fixture(name: string): string {
  return join(__dirname, '..', '_fixtures', name);
}

/** Runs `node ...nodeArgs script ...args`. */
export function runChild(script: string, args: string[] = [], timeoutMs = 10_000, env: NodeJS.ProcessEnv = process.env,
  nodeArgs: string[] = []): Promise<ChildResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let firstOutputMs: number | undefined;
    child.stdout.on('data', (d: Buffer) => {
      firstOutputMs ??= Date.now() - started;
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started, firstOutputMs, timedOut });
    });
  });
}
