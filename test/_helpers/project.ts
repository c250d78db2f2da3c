// A copy of a project under test/_projects in a temporary directory, with
// `reactor-threads` (this repository) and the packages it names linked
// into its node_modules, as an installed package would be; and a way to
// run a command there in a child process under the Node that runs the
// suite.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { platformTimeout } from './wait.js';

export const repo = join(__dirname, '..', '..');

export interface Project {
  dir: string;
  /** Runs `node ...args` there; rejects with its output if it fails. */
  run(args: string[], env?: Record<string, string>): Promise<{ stdout: string; stderr: string }>;
  remove(): void;
}

/** A package to link: by name from this repository's node_modules, or from another node_modules folder. */
export type LinkedPackage = string | { name: string; from: string };

export function copyProject(name: string, packages: readonly LinkedPackage[] = []): Project {
  const dir = mkdtempSync(join(tmpdir(), `rt-${name.replace(/\W/g, '-')}-`));
  cpSync(join(repo, 'test', '_projects', name), dir, { recursive: true });
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repo, join(dir, 'node_modules', 'reactor-threads'));
  for (const p of packages) {
    const { name: pkg, from } = typeof p === 'string' ? { name: p, from: join(repo, 'node_modules') } : p;
    const link = join(dir, 'node_modules', pkg);
    mkdirSync(dirname(link), { recursive: true });  // (a scoped package's folder)
    symlinkSync(join(from, pkg), link);
  }
  return {
    dir,
    async run(args, env = {}) {
      // (The suite's own NODE_OPTIONS, if any, are not the project's.)
      const { NODE_OPTIONS: _inherited, ...base } = process.env;
      try {
        return await promisify(execFile)(process.execPath, args, {
          cwd: dir, env: { ...base, ...env }, timeout: platformTimeout(120_000), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024,
        });
      } catch (e) {
        const { stdout, stderr } = e as { stdout?: string; stderr?: string };
        throw new Error(`node ${args.join(' ')} failed in ${dir}:\n${stderr}\n${stdout}`);
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
