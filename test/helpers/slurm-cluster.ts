// A throwaway single-node Slurm (slurmctld, slurmd, munge) for one test file, through
// scripts/slurm-cluster.sh: its own directory, free ports and SLURM_CONF, stopped when the file ends.
//   STRATA_TEST_SLURM=off   no cluster: the Slurm tests skip (ignored under CI)
//   CI (non-empty)          a cluster that cannot start fails the file instead of skipping
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { inCI } from './ci.js';

export interface SlurmCluster {
  baseDir: string;
  /** SLURM_CONF for every client command (sbatch, squeue, scancel …) */
  conf: string;
  env: { SLURM_CONF: string };
}

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/slurm-cluster.sh');

function script(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      'bash',
      [SCRIPT, ...args],
      { env: { ...process.env, ...env }, timeout: 300_000 },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * Starts a cluster for this test file (KillWait as given: how long a cancelled job has for its
 * final sync), stopped after the file; undefined when it cannot start outside CI (tests skip, loudly).
 */
export async function slurmClusterForFile(
  options: { killWaitSeconds?: number } = {},
): Promise<SlurmCluster | undefined> {
  if (process.env.STRATA_TEST_SLURM === 'off' && !inCI()) return undefined;
  const baseDir = mkdtempSync(join(tmpdir(), 'strata-slurm-'));
  const r = await script(['start', baseDir], { SLURM_KILL_WAIT: String(options.killWaitSeconds ?? 30) });
  if (r.code !== 0) {
    const why = `the Slurm test cluster did not start (exit ${r.code}):\n${r.stderr}`;
    if (inCI()) throw new Error(`CI is set and ${why}`);
    process.stderr.write(`\n${'!'.repeat(78)}\nSLURM TESTS SKIPPED: ${why}\n${'!'.repeat(78)}\n`);
    return undefined;
  }
  const { conf } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { conf: string };
  afterAll(() => {
    spawnSync('bash', [SCRIPT, 'stop', baseDir], { stdio: 'ignore', timeout: 60_000 });
  });
  return { baseDir, conf, env: { SLURM_CONF: conf } };
}

/** Files under dir (Slurm's state and spool) whose bytes hold needle. */
export function filesHolding(dir: string, needle: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      const info = statSync(path, { throwIfNoEntry: false });
      if (info?.isDirectory()) walk(path);
      else if (info?.isFile() && readFileSync(path).includes(needle)) found.push(path);
    }
  };
  walk(dir);
  return found;
}

/** Pids of a run's node-side `strata jobs exec` (its argv names the run after --run-id). */
export function nodeExecPids(runId: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = argv.indexOf('--run-id');
      if (at > 0 && argv[at + 1] === runId && argv.includes('exec')) pids.push(Number(entry));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}
