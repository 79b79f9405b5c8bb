// Issue 19: what a spec asks of a cluster node, and the run records nodes leave in the bucket.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { parseSpec } from '../../src/jobs/spec.js';
import { sbatchResourceArgs, type Resources } from '../../src/jobs/resources.js';
import { exportArg, slurmClientEnv } from '../../src/jobs/slurm.js';
import { parseRunDoc, type RunDoc } from '../../src/storage/run-doc.js';
import { decide } from '../../src/services/slurm-runs.js';
import type { SlurmJobState } from '../../src/jobs/slurm.js';

const FILE = 'job.yaml';
const withResources = (...lines: string[]): string =>
  ['jobs:', '  train:', '    run: python train.py', '    resources:', ...lines.map((l) => `      ${l}`), ''].join('\n');
const resourcesOf = (...lines: string[]): Resources =>
  parseSpec(withResources(...lines), FILE).get('train')!.resources!;

function specError(text: string): string {
  try {
    parseSpec(text, FILE);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error('expected a spec error');
}

describe('resources', () => {
  it('map to sbatch options: cpus, memory with a unit, gpus as a gres, time in minutes', () => {
    const r = resourcesOf('cpus: 8', 'memory: 32G', 'gpus: 2', 'time: 2h');
    expect(r).toEqual({ line: 4, cpus: 8, memory: '32G', gpus: 2, timeMinutes: 120 });
    expect(sbatchResourceArgs(r)).toEqual(['--cpus-per-task=8', '--mem=32G', '--gres=gpu:2', '--time=120']);
  });

  it("read Slurm's own time forms and sizes without a unit as megabytes", () => {
    expect(resourcesOf('time: "1-02:30"').timeMinutes).toBe(24 * 60 + 150);
    expect(resourcesOf('time: "01:30:00"').timeMinutes).toBe(90);
    expect(resourcesOf('time: 45').timeMinutes).toBe(45);
    expect(resourcesOf('memory: 512').memory).toBe('512M');
    expect(resourcesOf('memory: 4GiB').memory).toBe('4G');
    expect(sbatchResourceArgs(resourcesOf('gpus: 0'))).toEqual([]);
  });

  it('refuse unknown keys and bad values, naming the line', () => {
    expect(specError(withResources('cpus: 1', 'gpu: 1'))).toBe(
      'job.yaml:6: job train: unknown resource "gpu" (resources are cpus, memory, gpus, time)',
    );
    expect(specError(withResources('cpus: 0'))).toBe(
      'job.yaml:5: job train: resources.cpus must be a whole number ≥ 1',
    );
    expect(specError(withResources('memory: lots'))).toMatch(/^job.yaml:5: job train: resources.memory must be a size/);
    expect(specError(withResources('time: soon'))).toMatch(
      /^job.yaml:5: job train: resources.time must be an interval/,
    );
    expect(specError(['jobs:', '  train:', '    run: x', '    resources: 4', ''].join('\n'))).toMatch(
      /^job.yaml:4: job train: "resources" must map/,
    );
  });
});

describe('what goes through Slurm', () => {
  it('exports and passes on harmless variables only, never credentials', () => {
    const env = {
      PATH: '/usr/bin',
      HOME: '/root',
      AWS_PROFILE: 'ml',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_ACCESS_KEY_ID: 'key',
      AWS_SESSION_TOKEN: 'token',
      GITHUB_TOKEN: 'token',
      SLURM_CONF: '/etc/slurm.conf',
      SBATCH_PARTITION: 'gpu',
    };
    expect(exportArg(env)).toBe('--export=PATH,HOME,SLURM_CONF,AWS_PROFILE');
    expect(slurmClientEnv(env)).toEqual({
      PATH: '/usr/bin',
      HOME: '/root',
      AWS_PROFILE: 'ml',
      SLURM_CONF: '/etc/slurm.conf',
      SBATCH_PARTITION: 'gpu',
    });
    expect(exportArg({})).toBe('--export=NONE');
  });
});

const SAMPLE = {
  format: 'strata.run/1',
  id: 'runabc123def456',
  job: 'train',
  command: 'python train.py',
  status: 'succeeded',
  exitCode: 0,
  slurmJobId: '42',
  host: 'node1',
  updatedAt: '2026-01-01T00:00:00.000Z',
  startedAt: null,
  endedAt: null,
  inputs: [{ name: 'data', datasetId: 'dstabc123def456', versionId: 'k3j9x0a', url: null, commit: null }],
  outputs: [{ name: 'ckpt', datasetId: 'dstabc123def457', versionId: 'k3j9x0b', committed: true }],
} as const;
const parseRunDocSample = (): RunDoc => parseRunDoc('runs/x.json', Buffer.from(JSON.stringify(SAMPLE)));

describe('run records (untrusted input)', () => {
  const doc = SAMPLE;
  const parse = (v: object) => parseRunDoc('runs/x.json', Buffer.from(JSON.stringify(v)));

  it('are read back as written', () => {
    expect(parse(doc)).toEqual(doc);
  });

  it('are refused when a field is not what it must be', () => {
    for (const bad of [
      { status: 'done' },
      { id: '../x' },
      { exitCode: 'zero' },
      { slurmJobId: '42; rm -rf /' },
      { outputs: [{ name: 'ckpt', datasetId: 'x', versionId: 'k3j9x0b' }] },
      { format: 'strata.run/2' },
    ]) {
      expect(() => parse({ ...doc, ...bad }), JSON.stringify(bad)).toThrow(/^refusing runs\/x.json: /);
    }
  });
});

describe("a Slurm run's state", () => {
  const record = (status: RunDoc['status']): RunDoc => ({ ...parseRunDocSample(), status });
  const slurm = (state: string): SlurmJobState => ({ state, exitCode: null, signal: null });

  it('is the final record’s word, else what Slurm says, else lost', () => {
    expect(decide(record('succeeded'), undefined)).toBe('succeeded');
    expect(decide(record('failed'), slurm('COMPLETED'))).toBe('failed');
    expect(decide(record('pending'), slurm('PENDING'))).toBe('pending');
    expect(decide(record('running'), slurm('RUNNING'))).toBe('running');
    expect(decide(record('running'), slurm('CANCELLED'))).toBe('cancelled');
    expect(decide(record('running'), slurm('FAILED'))).toBe('failed');
    expect(decide(record('running'), slurm('TIMEOUT'))).toBe('failed');
    // The node's jobs exec died before it could write the end, and Slurm has forgotten the job.
    expect(decide(record('running'), undefined)).toBe('lost');
    expect(decide(undefined, undefined)).toBe('lost');
  });
});
