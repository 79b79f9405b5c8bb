import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, strata, type CliOptions, type CliResult } from './cli.js';

/** The JSON shapes of `jobs run|exec|list|details` and of `versions details` (docs/jobs.md). */
export interface RunInputJson {
  name: string;
  datasetId: string | null;
  /** the dataset's name beside its id; null for a URL input or a dataset deleted since */
  datasetName: string | null;
  versionId: string | null;
  /** a URL or git input's source, with no credentials */
  url: string | null;
  /** the commit a git input was checked out at */
  commit: string | null;
}

export interface RunJson {
  id: string;
  job: string;
  specFile: string | null;
  command: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost';
  exitCode: number | null;
  isolation: 'namespace' | 'none';
  host: string;
  runnerPid: number;
  logPath: string;
  startedAt: string;
  endedAt: string | null;
}

export interface RunDetailsJson extends RunJson {
  inputs: RunInputJson[];
  outputs: { name: string; datasetId: string; datasetName: string | null; versionId: string; committed: boolean }[];
}

export interface JobResultJson {
  job: string;
  runId: string;
  status: 'succeeded' | 'failed';
  exitCode: number | null;
  isolation: 'namespace' | 'none';
  logPath: string;
  inputs: { name: string; ref?: string; url?: string; commit?: string; datasetId?: string; versionId?: string }[];
  outputs: { name: string; ref: string; committed: boolean; tag?: string; files: number }[];
}

export interface SkippedJson {
  job: string;
  status: 'skipped';
  reason: string;
}

export interface SpecRunJson {
  file: string;
  jobs: (JobResultJson | SkippedJson)[];
}

export interface VersionDetailsJson {
  datasetId: string;
  id: string;
  ref: string;
  isCommitted: boolean;
  tags: string[];
  fileCount: number;
  datasetName: string;
  provenance: {
    runId: string;
    job: string;
    command: string;
    exitCode: number | null;
    startedAt: string;
    endedAt: string | null;
    inputs: RunInputJson[];
  } | null;
}

/** Writes a job spec (lines joined with \n) and returns its path. */
export function writeSpec(path: string, ...lines: string[]): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** Parses the --json stdout of a command that may have failed (jobs run/exec exit non-zero when a job fails). */
export function parseJson<T>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

/** Calls fn until it returns something other than undefined/false, or fails after timeoutMs. */
export async function poll<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 300 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A strata command running in the background, to be killed or awaited. */
export interface Background {
  child: ChildProcess;
  done: Promise<CliResult>;
}

/** Starts the built binary like `strata()` does, but returns at once with the process. */
export function startStrata(args: string[], options: CliOptions): Background {
  const env: NodeJS.ProcessEnv = { ...process.env, STRATA_HOME: options.home, ...options.env };
  delete env.NODE_ENV;
  for (const key of Object.keys(env)) if (key.startsWith('VITEST')) delete env[key];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Pids of the processes whose command line or environment holds marker (a job's own processes). */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    for (const file of ['cmdline', 'environ']) {
      try {
        if (readFileSync(`/proc/${entry}/${file}`, 'latin1').includes(marker)) {
          found.push(Number(entry));
          break;
        }
      } catch {
        // gone already, or not ours to read
      }
    }
  }
  return found;
}

/** The version ids of a dataset, newest first as `versions list` gives them. */
export async function versionsOf(
  o: CliOptions,
  dataset: string,
): Promise<{ id: string; isCommitted: boolean; fileCount: number }[]> {
  const r = await strata(['datasets', 'versions', 'list', '--id', dataset, '--json'], o);
  return r.code === 0 ? (JSON.parse(r.stdout) as { id: string; isCommitted: boolean; fileCount: number }[]) : [];
}
