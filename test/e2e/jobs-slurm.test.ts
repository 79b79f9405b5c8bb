// Issue 19: `jobs run --executor slurm` on a real single-node Slurm started for this file, with the
// local provider: spec errors stop everything before anything is submitted, and a node that does
// not see the submitter's provider directory fails its job with a clear message.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions, type CliResult } from '../helpers/cli.js';
import { BIN } from '../helpers/cli.js';
import { assertBuilt, expectErrorLine } from '../helpers/expect-cli.js';
import { parseJson, writeSpec, type RunDetailsJson } from '../helpers/jobs.js';
import { slurmClusterForFile } from '../helpers/slurm-cluster.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-slurm-');
const cluster = await slurmClusterForFile();

beforeAll(assertBuilt);

/** Every job the cluster knows, of any state. */
function slurmJobs(): string {
  return execFileSync('squeue', ['-h', '-t', 'all', '-o', '%i %j %T'], { env: { ...process.env, ...cluster!.env } })
    .toString()
    .trim();
}

const home = (): CliOptions => ({ home: fresh(), env: cluster!.env });

function run(o: CliOptions, spec: string, ...flags: string[]): Promise<CliResult> {
  return strata(
    ['jobs', 'run', '--file', spec, '--executor', 'slurm', '--node-home', join(fresh(), 'node'), ...flags],
    o,
  );
}

describe.skipIf(!cluster)('jobs run --executor slurm: checks before submitting, the local provider', () => {
  /** A spec Slurm is never handed: the one error line, and the cluster's queue as it was. */
  async function refused(lines: string[], ...flags: string[]): Promise<{ o: CliOptions; spec: string; line: string }> {
    const o = home();
    const before = slurmJobs();
    const spec = writeSpec(join(fresh(), 'job.yaml'), 'jobs:', ...lines);
    const line = expectErrorLine(await run(o, spec, ...flags), 2);
    expect(slurmJobs()).toBe(before);
    return { o, spec, line };
  }

  it('an unknown resource key is a spec error naming file and line; nothing is submitted', async () => {
    const { spec, line } = await refused([
      '  prepare:',
      '    run: echo hi',
      '    resources:',
      '      cpus: 1',
      '      gpu: 1',
    ]);
    expect(line).toBe(`Error: ${spec}:6: job prepare: unknown resource "gpu" (resources are cpus, memory, gpus, time)`);
  });

  it('gpus on a cluster without GPUs: found by sbatch --test-only for every job before the first is submitted', async () => {
    const { o, spec, line } = await refused(
      [
        '  prepare:',
        '    run: echo hi',
        '  train:',
        '    needs: [prepare]',
        '    resources: { gpus: 1, time: 1h }',
        '    outputs:',
        '      ckpt: { type: dataset, with: { ref: ckpt } }',
        '    run: echo train',
      ],
      '--wait',
    );
    expect(line).toMatch(new RegExp(`^Error: ${spec}:6: job train: Slurm would not run it: .*gres`, 'i'));
    expect(await strataJson<unknown[]>(['jobs', 'list'], o)).toEqual([]);
    expect(await strataJson<unknown[]>(['datasets', 'list'], o)).toEqual([]);
  });

  it('the local executor runs a spec with resources and says it ignores them', async () => {
    const o = home();
    const spec = writeSpec(
      join(fresh(), 'job.yaml'),
      'jobs:',
      '  one:',
      '    resources: { cpus: 2, memory: 1G }',
      '    run: exit 0',
    );
    const r = await strata(['jobs', 'run', '--file', spec, '--isolation', 'none'], o);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'job one: resources are asked of a cluster (--executor slurm); the local executor ignores them',
    );
  });

  it('the local provider: a node that shares its directory runs the job; one that does not fails it, saying so', async () => {
    const o = home();
    const spec = writeSpec(
      join(fresh(), 'job.yaml'),
      'jobs:',
      '  one:',
      '    outputs:',
      '      out: { type: dataset, with: { ref: out } }',
      '    run: echo made > "$STRATA_OUTPUT_OUT/made.txt"',
    );
    const ok = await run(o, spec, '--wait', '--json', '--isolation', 'none');
    expect(ok.code, ok.stderr).toBe(0);
    expect(parseJson<{ jobs: { status: string }[] }>(ok).jobs[0]!.status).toBe('succeeded');

    // A node where the provider's path is another (empty) directory: it cannot find the run's record there.
    const elsewhere = join(fresh(), 'elsewhere');
    mkdirSync(elsewhere);
    const wrapper = join(fresh(), 'node-strata.sh');
    const storage = join(o.home, 'storage');
    writeFileSync(
      wrapper,
      [
        '#!/bin/bash',
        `from=${storage} to=${elsewhere} args=()`,
        'for a in "$@"; do args+=("${a//"$from"/$to}"); done',
        `exec ${process.execPath} ${BIN} "\${args[@]}"`,
        '',
      ].join('\n'),
    );
    chmodSync(wrapper, 0o755);
    const bad = await run(o, spec, '--wait', '--json', '--isolation', 'none', '--node-command', wrapper);
    expect(bad.code, bad.stderr).toBe(7);
    const [job] = parseJson<{ jobs: { runId: string; status: string }[] }>(bad).jobs;
    expect(job!.status).toBe('failed');
    const d = await strataJson<RunDetailsJson>(['jobs', 'details', '--id', job!.runId], o);
    expect(readFileSync(d.logPath, 'utf8')).toContain(
      `the local storage provider directory ${elsewhere} is not the submitter's on node`,
    );
  });
});

it('flags of the Slurm executor are refused with the local one', async () => {
  const spec = writeSpec(join(fresh(), 'job.yaml'), 'jobs:', '  one:', '    run: exit 0');
  const line = expectErrorLine(await strata(['jobs', 'run', '--file', spec, '--wait'], { home: fresh() }), 2);
  expect(line).toBe('Error: --wait is for --executor slurm; the local executor runs the jobs here, to their end');
});
