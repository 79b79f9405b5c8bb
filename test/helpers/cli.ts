import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const BIN = resolve(import.meta.dirname, '../../bin/run.cjs');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** run as this user and group (the test runs as root) */
  uid?: number;
  gid?: number;
}

/**
 * The environment of a user's shell: vitest sets NODE_ENV=test, which puts oclif into development
 * mode (it looks for tsx/ts-node and skips the manifest), so it is not passed on.
 */
export function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_ENV;
  for (const key of Object.keys(env)) if (key.startsWith('VITEST')) delete env[key];
  return env;
}

/** Runs the built strata binary as a user would, with its own STRATA_HOME. */
export function strata(args: string[], options: CliOptions): Promise<CliResult> {
  return startStrata(args, options).result;
}

/** strata(), with the child's pid: for tests that stop, continue or kill it while it runs. */
export function startStrata(args: string[], options: CliOptions): { pid: number; result: Promise<CliResult> } {
  // STRATA_TEST_BIN: a copy of the built CLI that a long run (npm run chaos) takes at its start.
  const child = spawn(process.execPath, [process.env.STRATA_TEST_BIN || BIN, ...args], {
    cwd: options.cwd,
    env: { ...userEnv(), STRATA_HOME: options.home, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    uid: options.uid,
    gid: options.gid,
  });
  const result = new Promise<CliResult>((done, fail) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
  return { pid: child.pid!, result };
}

/**
 * Resolves once the process has stopped itself (a fault point with STRATA_FAULT_SIGNAL=SIGSTOP),
 * or rejects if it ends first.
 */
export async function stopped(run: { pid: number; result: Promise<CliResult> }): Promise<void> {
  let ended: CliResult | undefined;
  void run.result.then((r) => (ended = r));
  for (;;) {
    if (ended) throw new Error(`the process ended before it stopped: ${JSON.stringify(ended)}`);
    const stat = readFileSync(`/proc/${run.pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs with --json, expects success, and parses stdout. */
export async function strataJson<T = unknown>(args: string[], options: CliOptions): Promise<T> {
  const result = await strata([...args, '--json'], options);
  if (result.code !== 0) {
    throw new Error(
      `strata ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
    );
  }
  return JSON.parse(result.stdout) as T;
}

export function tempDir(prefix = 'strata-test-', base = tmpdir()): string {
  return mkdtempSync(join(base, prefix));
}
