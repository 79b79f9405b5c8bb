#!/usr/bin/env node
// What handing a spec to Slurm costs (docs/jobs.md, "On a Slurm cluster"): on a single-node cluster
// this script starts (scripts/slurm-cluster.sh), the two-job DAG of docs/jobs.md on the local
// provider, run ROUNDS times each way:
//   - from `jobs run --executor slurm --wait` to the first job running (its record's startedAt,
//     written by the node's `jobs exec` once its inputs are in place and just before the command);
//   - the overhead per job: (wall time with Slurm − wall time of the local executor) / jobs.
// Prints the medians (and every round) as JSON. Needs `npm run build` first.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'bin/run.cjs');
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const base = mkdtempSync(join(tmpdir(), 'strata-slurm-bench-'));
const clusterDir = join(base, 'cluster');
const home = join(base, 'home');

const cluster = JSON.parse(
  execFileSync('bash', [join(root, 'scripts/slurm-cluster.sh'), 'start', clusterDir], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .at(-1),
);
const env = { ...process.env, STRATA_HOME: home, SLURM_CONF: cluster.conf };
const strata = (...args) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`strata ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const src = join(base, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'alpha\n');
  strata('datasets', 'create', '--name', 'raw');
  strata('datasets', 'versions', 'create', '--id', 'raw', '--source-path', `${src}/`);
  const spec = join(base, 'job.yaml');
  writeFileSync(
    spec,
    [
      'jobs:',
      '  prepare:',
      '    inputs:',
      '      raw: { type: dataset, with: { ref: raw } }',
      '    outputs:',
      '      clean: { type: dataset, with: { ref: clean } }',
      '    run: cp "$STRATA_INPUT_RAW/a.txt" "$STRATA_OUTPUT_CLEAN/a.txt"',
      '  train:',
      '    inputs:',
      '      data: prepare.outputs.clean',
      '    outputs:',
      '      ckpt: { type: dataset, with: { ref: ckpt } }',
      '    run: tr a-z A-Z < "$STRATA_INPUT_DATA/a.txt" > "$STRATA_OUTPUT_CKPT/model.txt"',
      '',
    ].join('\n'),
  );
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    let t0 = Date.now();
    strata('jobs', 'run', '--file', spec, '--json');
    const local = Date.now() - t0;
    t0 = Date.now();
    const out = JSON.parse(
      strata(
        'jobs',
        'run',
        '--file',
        spec,
        '--executor',
        'slurm',
        '--wait',
        '--json',
        '--node-home',
        join(base, `node-${i}`),
      ),
    );
    const slurm = Date.now() - t0;
    if (out.jobs.some((j) => j.status !== 'succeeded')) throw new Error(`round ${i}: ${JSON.stringify(out.jobs)}`);
    const started = out.jobs.map(
      (j) => Date.parse(JSON.parse(readFileSync(join(home, 'storage/runs', `${j.runId}.json`), 'utf8')).startedAt) - t0,
    );
    rounds.push({
      localMs: local,
      slurmMs: slurm,
      firstRunningMs: Math.min(...started),
      perJobOverheadMs: (slurm - local) / 2,
    });
  }
  const result = {
    rounds,
    median: {
      firstRunningMs: median(rounds.map((r) => r.firstRunningMs)),
      localMs: median(rounds.map((r) => r.localMs)),
      slurmMs: median(rounds.map((r) => r.slurmMs)),
      perJobOverheadMs: median(rounds.map((r) => r.perJobOverheadMs)),
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  spawnSync('bash', [join(root, 'scripts/slurm-cluster.sh'), 'stop', clusterDir], { stdio: 'ignore' });
  rmSync(base, { recursive: true, force: true });
}
