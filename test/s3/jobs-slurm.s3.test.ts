// Issue 19: `jobs run --executor slurm` on a real single-node Slurm started for this file, with an
// S3 provider (Ceph RGW). Nodes work in their own STRATA_HOME; the bucket is the record.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, strataJson, type CliOptions, type CliResult } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { writeFiles, type VersionJson } from '../helpers/fixtures.js';
import {
  parseJson,
  poll,
  writeSpec,
  type RunDetailsJson,
  type RunJson,
  type VersionDetailsJson,
} from '../helpers/jobs.js';
import { TestBucket } from '../helpers/s3-bucket.js';
import { filesHolding, nodeExecPids, slurmClusterForFile } from '../helpers/slurm-cluster.js';
import { providerArgs } from '../helpers/team.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-slurm-s3-');
// KillWait 10 s: what a cancelled job's `jobs exec` has for its final sync.
const cluster = s3 ? await slurmClusterForFile({ killWaitSeconds: 10 }) : undefined;
const buckets: TestBucket[] = [];
const SENTINEL = 'sentinel-secret-3c9f1e7a';

beforeAll(assertBuilt);
afterEach(async () => {
  for (const b of buckets.splice(0)) await b.destroy();
});

interface SubmittedJson {
  executor: 'slurm';
  jobs: { job: string; runId: string; slurmJobId: string; status: string; exitCode?: number | null }[];
}

interface Setup {
  o: CliOptions;
  raw: VersionJson;
  /** flags every `jobs run --executor slurm` here takes */
  slurm: string[];
}

/**
 * A submitter: its own home, an S3 provider with stored keys (the secret the test hunts for), a
 * committed `raw`, and a 0600 credentials file for the nodes. Its environment holds a sentinel
 * secret too, which must not reach Slurm.
 */
async function submitter(label: string): Promise<Setup> {
  const bucket = await TestBucket.create(s3!, label);
  buckets.push(bucket);
  const o: CliOptions & { bucket?: string } = {
    bucket: bucket.name,
    home: fresh(),
    env: { ...cluster!.env, AWS_SECRET_ACCESS_KEY: SENTINEL, AWS_SESSION_TOKEN: SENTINEL, MY_API_TOKEN: SENTINEL },
  };
  await strataJson(providerArgs('create', s3!, bucket.name, 'team'), o);
  await strataJson(['datasets', 'create', '--name', 'raw', '--storageProviderId', 'team'], o);
  const src = writeFiles(fresh(), { 'a.txt': 'alpha\n' });
  const raw = await strataJson<VersionJson>(
    ['datasets', 'versions', 'create', '--id', 'raw', '--source-path', `${src}/`],
    o,
  );
  const credentials = join(fresh(), 'node-credentials');
  writeFileSync(
    credentials,
    `[default]\naws_access_key_id = ${s3!.accessKey}\naws_secret_access_key = ${s3!.secretKey}\n`,
  );
  chmodSync(credentials, 0o600);
  return {
    o,
    raw,
    slurm: ['--executor', 'slurm', '--credentials-file', credentials, '--node-home', join(fresh(), 'node')],
  };
}

const bucketOf = (o: CliOptions & { bucket?: string }): string => o.bucket!;

function expectOk(r: CliResult): void {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
}

const details = (o: CliOptions, id: string): Promise<RunDetailsJson & { slurmJobId: string | null }> =>
  strataJson(['jobs', 'details', '--id', id], o);

async function filesOf(o: CliOptions, ref: string): Promise<Record<string, string>> {
  const target = join(fresh(), 'got');
  await strataJson(['datasets', 'files', 'get', '--id', ref, '--target-path', target], o);
  return Object.fromEntries(readTree(target).map((f) => [f.path, readFileSync(join(target, f.path), 'utf8')]));
}

/** The uncommitted version a run's output went to, once its record names it and a sync has put file in it. */
async function syncedOutput(o: CliOptions, runId: string, file: string): Promise<string> {
  return poll(
    `run ${runId} to have synced ${file}`,
    async () => {
      const d = await details(o, runId);
      const out = d.outputs[0];
      if (!out) return undefined;
      const ref = `${out.datasetId}:${out.versionId}`;
      const files = await strataJson<{ path: string }[]>(['datasets', 'files', 'list', '--id', ref], o);
      return files.some((f) => f.path === file) && ref;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

const longJob = (dir: string): string =>
  writeSpec(
    join(dir, 'job.yaml'),
    'jobs:',
    '  train:',
    '    outputs:',
    '      ckpt: { type: dataset, with: { ref: ckpt, storageProviderId: team }, sync: 1s }',
    // On SIGTERM (scancel) the job writes one more file: the node's final sync must carry it. The
    // sleep is in the foreground: with `sleep & wait`, a sleep that died of the signal first made
    // `wait` return 0 and the shell end before its trap ran.
    `    run: trap 'echo bye > "$STRATA_OUTPUT_CKPT/bye.txt"; exit 143' TERM; echo one > "$STRATA_OUTPUT_CKPT/ep1.txt"; while :; do sleep 1; done`,
  );

describe.skipIf(!s3 || !cluster)('jobs run --executor slurm (a real Slurm, Ceph RGW)', () => {
  it(
    'the two-job DAG: afterok, both succeed in node homes of their own, and the submitter sees committed outputs with exact inputs; no secret reaches Slurm',
    { timeout: 90_000 },
    async () => {
      const { o, raw, slurm } = await submitter('slurm-dag');
      const spec = writeSpec(
        join(fresh(), 'job.yaml'),
        'jobs:',
        '  prepare:',
        '    inputs:',
        '      raw: { type: dataset, with: { ref: raw } }',
        '    outputs:',
        '      clean: { type: dataset, with: { ref: clean } }',
        '    resources: { cpus: 1, memory: 64M, time: 10m }',
        '    run: cp "$STRATA_INPUT_RAW/a.txt" "$STRATA_OUTPUT_CLEAN/a.txt" && printf %s "$STRATA_HOME" > "$STRATA_OUTPUT_CLEAN/home.txt"',
        '  train:',
        '    needs: [prepare]',
        '    inputs:',
        '      data: prepare.outputs.clean',
        '    outputs:',
        "      ckpt: { type: dataset, with: { ref: 'ckpt:candidate' } }",
        '    run: tr a-z A-Z < "$STRATA_INPUT_DATA/a.txt" > "$STRATA_OUTPUT_CKPT/model.txt"',
      );
      const r = await strata(['jobs', 'run', '--file', spec, ...slurm, '--wait', '--json'], o);
      expectOk(r);
      const result = parseJson<SubmittedJson>(r);
      expect(result.jobs.map((j) => [j.job, j.status])).toEqual([
        ['prepare', 'succeeded'],
        ['train', 'succeeded'],
      ]);
      expect(r.stderr).toMatch(/Slurm job \d+/);

      const listed = await strataJson<{ id: string; status: string; slurmJobId: string }[]>(['jobs', 'list'], o);
      for (const j of result.jobs)
        expect(listed.find((l) => l.id === j.runId)).toMatchObject({ status: 'succeeded', slurmJobId: j.slurmJobId });

      const clean = await strataJson<VersionDetailsJson>(
        ['datasets', 'versions', 'details', '--id', 'clean:latest'],
        o,
      );
      expect(clean.isCommitted).toBe(true);
      expect(clean.provenance).toMatchObject({ runId: result.jobs[0]!.runId, job: 'prepare' });
      expect(clean.provenance!.inputs).toMatchObject([{ name: 'raw', datasetId: raw.datasetId, versionId: raw.id }]);
      const ckpt = await strataJson<VersionDetailsJson>(
        ['datasets', 'versions', 'details', '--id', 'ckpt:candidate'],
        o,
      );
      expect(ckpt.provenance).toMatchObject({ runId: result.jobs[1]!.runId, job: 'train' });
      expect(ckpt.provenance!.inputs).toMatchObject([
        { name: 'data', datasetId: clean.datasetId, versionId: clean.id },
      ]);
      expect(await filesOf(o, 'ckpt:candidate')).toEqual({ 'model.txt': 'ALPHA\n' });
      // The node runs the spec's job by its name (its run and the provenance it writes say prepare).
      const prepareRun = await details(o, result.jobs[0]!.runId);
      expect(readFileSync(prepareRun.logPath, 'utf8')).toContain(`job prepare (${result.jobs[0]!.runId})`);
      const made = await filesOf(o, 'clean:latest');
      expect(made['home.txt']).toBeTruthy();
      expect(made['home.txt']).not.toBe(o.home);

      // A teammate with the same bucket, who submitted nothing, finds the run by its record.
      const b: CliOptions = { home: fresh(), env: cluster!.env };
      await strataJson(providerArgs('import', s3!, bucketOf(o), 'team'), b);
      const seen = await details(b, result.jobs[1]!.runId);
      expect(seen).toMatchObject({ job: 'train', status: 'succeeded', slurmJobId: result.jobs[1]!.slurmJobId });
      expect(seen.outputs).toMatchObject([
        { name: 'ckpt', datasetId: ckpt.datasetId, versionId: ckpt.id, committed: true },
      ]);
      expect(seen.inputs).toMatchObject([{ name: 'data', datasetId: clean.datasetId, versionId: clean.id }]);
      // …and lists every run the team submitted with --team (the other one was unknown to it).
      const teamRuns = await strataJson<RunJson[]>(['jobs', 'list', '--team'], b);
      expect(teamRuns.map((r) => [r.id, r.status]).sort()).toEqual(
        result.jobs.map((j) => [j.runId, 'succeeded']).sort(),
      );

      // slurmctld keeps batch scripts and environments in its state directory, slurmd in its spool:
      // the scripts are there (they name their run), the secrets are not.
      expect(filesHolding(cluster!.baseDir, result.jobs[1]!.runId).length).toBeGreaterThan(0);
      expect(filesHolding(cluster!.baseDir, s3!.secretKey)).toEqual([]);
      expect(filesHolding(cluster!.baseDir, SENTINEL)).toEqual([]);
    },
  );

  it(
    'a first job that exits 3: output uncommitted with its synced files, the dependant never runs, states right, --wait exits 7',
    { timeout: 90_000 },
    async () => {
      const { o, slurm } = await submitter('slurm-fail');
      const spec = writeSpec(
        join(fresh(), 'job.yaml'),
        'jobs:',
        '  prepare:',
        '    outputs:',
        '      clean: { type: dataset, with: { ref: clean, storageProviderId: team }, sync: 1s }',
        '    run: echo partial > "$STRATA_OUTPUT_CLEAN/part.txt"; exit 3',
        '  train:',
        '    inputs:',
        '      data: prepare.outputs.clean',
        '    outputs:',
        '      ckpt: { type: dataset, with: { ref: ckpt } }',
        '    run: touch "$STRATA_OUTPUT_CKPT/ran"',
      );
      const r = await strata(['jobs', 'run', '--file', spec, ...slurm, '--wait', '--json'], o);
      expect(r.code, r.stderr).toBe(7);
      const result = parseJson<SubmittedJson>(r);
      expect(result.jobs.map((j) => [j.job, j.status])).toEqual([
        ['prepare', 'failed'],
        ['train', 'cancelled'],
      ]);
      const prepare = await details(o, result.jobs[0]!.runId);
      expect(prepare).toMatchObject({ status: 'failed', exitCode: 3 });
      expect(prepare.outputs).toMatchObject([{ name: 'clean', committed: false }]);
      const ref = `${prepare.outputs[0]!.datasetId}:${prepare.outputs[0]!.versionId}`;
      expect(await filesOf(o, ref)).toEqual({ 'part.txt': 'partial\n' });
      const train = await details(o, result.jobs[1]!.runId);
      expect(train).toMatchObject({ status: 'cancelled', outputs: [] });
      const ckpt = await strataJson<unknown[]>(['datasets', 'versions', 'list', '--id', 'ckpt'], o);
      expect(ckpt).toEqual([]);
    },
  );

  it(
    'jobs cancel of a running job: Slurm cancels it, its synced files stay uncommitted, --resume-from continues them in a new run',
    { timeout: 90_000 },
    async () => {
      const { o, slurm } = await submitter('slurm-cancel');
      // --isolation none: under namespaces the command's TERM trap does not always run (the job's
      // shell is PID 1 there); the run is cancelled and uncommitted either way.
      const r = await strata(['jobs', 'run', '--file', longJob(fresh()), ...slurm, '--isolation', 'none', '--json'], o);
      expectOk(r);
      const [run] = parseJson<SubmittedJson>(r).jobs;
      const ref = await syncedOutput(o, run!.runId, 'ep1.txt');
      const cancelled = await strataJson<{ status: string }>(['jobs', 'cancel', '--id', run!.runId], o);
      expect(cancelled.status).toBe('cancelled');
      const slurmState = (): string | undefined =>
        /JobState=(\S+)/.exec(
          execFileSync('scontrol', ['show', 'job', run!.slurmJobId], {
            env: { ...process.env, ...cluster!.env },
          }).toString(),
        )?.[1];
      // COMPLETING while its processes end, then CANCELLED.
      await poll('Slurm to say CANCELLED', () => slurmState() === 'CANCELLED', { timeoutMs: 30_000 });
      // The node's final sync lands within KillWait; the version stays uncommitted with ep1.txt.
      await poll('the node to end the run', () => nodeExecPids(run!.runId).length === 0, { timeoutMs: 30_000 });
      const d = await details(o, run!.runId);
      expect(d).toMatchObject({ status: 'cancelled', outputs: [{ name: 'ckpt', committed: false }] });
      expect(await filesOf(o, ref)).toEqual({ 'ep1.txt': 'one\n', 'bye.txt': 'bye\n' });

      const resumed = await strata(
        [
          'jobs',
          'exec',
          '--output',
          'ckpt=ckpt',
          '--resume-from',
          `ckpt=${ref}`,
          '--isolation',
          'none',
          '--json',
          '--',
          'sh',
          '-c',
          'test -f "$STRATA_OUTPUT_CKPT/ep1.txt" && echo two > "$STRATA_OUTPUT_CKPT/ep2.txt"',
        ],
        o,
      );
      expectOk(resumed);
      const made = parseJson<{ outputs: { ref: string; committed: boolean }[] }>(resumed).outputs[0]!;
      expect(made.committed).toBe(true);
      expect(await filesOf(o, made.ref)).toEqual({ 'ep1.txt': 'one\n', 'bye.txt': 'bye\n', 'ep2.txt': 'two\n' });
    },
  );

  it(
    'the node-side jobs exec killed with SIGKILL: the run ends failed (Slurm still knows the job) or lost, never running, and its synced checkpoint survives',
    { timeout: 90_000 },
    async () => {
      const { o, slurm } = await submitter('slurm-kill');
      const r = await strata(['jobs', 'run', '--file', longJob(fresh()), ...slurm, '--json'], o);
      expectOk(r);
      const [run] = parseJson<SubmittedJson>(r).jobs;
      const ref = await syncedOutput(o, run!.runId, 'ep1.txt');
      const pids = nodeExecPids(run!.runId);
      expect(pids.length).toBeGreaterThan(0);
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      const status = await poll(
        'the run to end',
        async () => {
          const d = await details(o, run!.runId);
          return ['pending', 'running'].includes(d.status) ? undefined : d.status;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      expect(['failed', 'lost']).toContain(status);
      expect(await filesOf(o, ref)).toEqual({ 'ep1.txt': 'one\n' });
    },
  );
});
