import { execFile } from 'node:child_process';
import { EnvironmentError, StrataError, ExitCode } from '../core/errors.js';

/**
 * Slurm's client commands (sbatch, squeue, scontrol, scancel), run with an environment that holds
 * no secret: slurmctld keeps batch scripts and job environments on disk (StateSaveLocation).
 */

/** Variables a job may take from the submitter: where things are, never what unlocks them. */
export const SAFE_EXPORTS = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'SLURM_CONF',
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CA_BUNDLE',
];

/** The environment the Slurm commands themselves run with: the safe names and Slurm's own settings. */
export function slurmClientEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (SAFE_EXPORTS.includes(k) || /^(SLURM|SBATCH|SQUEUE|SCANCEL)_/.test(k))) out[k] = v;
  }
  return out;
}

/** `--export=…`: the safe variables the submitter has, by name (Slurm copies their values). */
export function exportArg(env: NodeJS.ProcessEnv = process.env): string {
  const names = SAFE_EXPORTS.filter((k) => env[k] !== undefined && !env[k]!.includes(','));
  return `--export=${names.length > 0 ? names.join(',') : 'NONE'}`;
}

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], input?: string): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { env: slurmClientEnv(), maxBuffer: 16 << 20, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new EnvironmentError(
              `${command} is not on PATH: --executor slurm needs Slurm's client commands (sbatch, squeue, scontrol, scancel) on this machine`,
              'ENOSLURM',
            ),
          );
          return;
        }
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Slurm refused something (a bad option, an unknown partition, no node with the GPUs asked for). */
export class SlurmError extends StrataError {
  constructor(message: string, code = 'ESLURM', exitCode: number = ExitCode.usage) {
    super(message, code, exitCode);
  }
}

const firstLine = (o: Output): string =>
  (o.stderr.trim() || o.stdout.trim()).split('\n').find((l) => l.trim() !== '') ?? `exit ${o.code}`;

const forgotten = (o: Output): boolean => /Invalid job id/i.test(o.stderr);

/** Submits a batch script (given on stdin); returns the Slurm job id. */
export async function sbatch(args: string[], script: string): Promise<string> {
  const o = await run('sbatch', ['--parsable', ...args], script);
  const id = /^(\d+)/.exec(o.stdout.trim())?.[1];
  if (o.code !== 0 || !id) throw new SlurmError(`sbatch refused the job: ${firstLine(o)}`);
  return id;
}

/** `sbatch --test-only`: would Slurm take this job? The reason when it would not. */
export async function sbatchTestOnly(args: string[], script: string): Promise<string | undefined> {
  const o = await run('sbatch', ['--test-only', ...args], script);
  return o.code === 0 ? undefined : firstLine(o).replace(/^sbatch: error: /, '');
}

export async function scancel(ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const o = await run('scancel', ids);
  if (o.code !== 0) throw new SlurmError(`scancel ${ids.join(' ')}: ${firstLine(o)}`);
}

/** What Slurm says of a job: its state (PENDING, RUNNING, COMPLETED, FAILED, CANCELLED …) and exit code. */
export interface SlurmJobState {
  state: string;
  exitCode: number | null;
  signal: number | null;
}

/**
 * The state of each job Slurm still knows: squeue for the queue, `scontrol show job` for one that
 * ended a little while ago (accounting may be off; the controller forgets a job after MinJobAge).
 * A job missing from the map is one Slurm no longer knows.
 */
export async function slurmStates(ids: string[]): Promise<Map<string, SlurmJobState>> {
  const states = new Map<string, SlurmJobState>();
  if (ids.length === 0) return states;
  const q = await run('squeue', ['-h', '-t', 'all', '-j', ids.join(','), '-o', '%i %T']);
  // "Invalid job id": Slurm knows none of them. Anything else (no controller) says nothing of them.
  if (q.code !== 0 && !forgotten(q))
    throw new SlurmError(`squeue: ${firstLine(q)}`, 'ESLURMDOWN', ExitCode.environment);
  if (q.code === 0) {
    for (const line of q.stdout.split('\n')) {
      const [id, state] = line.trim().split(/\s+/);
      if (id && state && ids.includes(id)) states.set(id, { state, exitCode: null, signal: null });
    }
  }
  for (const id of ids) {
    const known = states.get(id);
    if (known && !['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY'].includes(known.state))
      continue;
    const s = await run('scontrol', ['show', 'job', '-o', id]);
    if (s.code !== 0 && !forgotten(s))
      throw new SlurmError(`scontrol: ${firstLine(s)}`, 'ESLURMDOWN', ExitCode.environment);
    const state = /\bJobState=(\S+)/.exec(s.stdout)?.[1];
    if (s.code !== 0 || !state) continue;
    const exit = /\bExitCode=(\d+):(\d+)/.exec(s.stdout);
    states.set(id, {
      state,
      exitCode: exit ? Number(exit[1]) : null,
      signal: exit && exit[2] !== '0' ? Number(exit[2]) : null,
    });
  }
  return states;
}
