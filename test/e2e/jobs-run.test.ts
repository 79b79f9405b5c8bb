import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions, type CliResult } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import {
  committedVersion,
  createDataset,
  listFilesJson,
  writeFiles,
  type DatasetJson,
  type VersionJson,
} from '../helpers/fixtures.js';
import {
  parseJson,
  poll,
  startStrata,
  versionsOf,
  writeSpec,
  type JobResultJson,
  type RunDetailsJson,
  type RunJson,
  type SpecRunJson,
  type VersionDetailsJson,
} from '../helpers/jobs.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';

const fresh = tempDirs('strata-jobs-run-');

beforeAll(assertBuilt);

/** Long chains of commands: room for a busy machine. */
const SLOW = { timeout: 120_000 };

/** A --source-path whose files land at the top of a version (the trailing slash: its contents, not the directory). */
const contents = (files: Record<string, string>): string => `${writeFiles(fresh(), files)}/`;

/** A home with a committed dataset `raw` holding a.txt ("alpha") and b.txt ("beta"). */
async function withRaw(): Promise<{ o: CliOptions; raw: DatasetJson; rawVersion: VersionJson }> {
  const o = { home: fresh() };
  const raw = await createDataset(o, 'raw');
  const rawVersion = await committedVersion(o, 'raw', contents({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' }));
  return { o, raw, rawVersion };
}

const details = (o: CliOptions, ref: string): Promise<VersionDetailsJson> =>
  strataJson<VersionDetailsJson>(['datasets', 'versions', 'details', '--id', ref], o);

/** The files of a version, path → content, read back with `files get`. */
async function contentsOf(o: CliOptions, ref: string): Promise<Record<string, string>> {
  const target = join(fresh(), 'got');
  await strataJson(['datasets', 'files', 'get', '--id', ref, '--target-path', target], o);
  return Object.fromEntries(readTree(target).map((f) => [f.path, readFileSync(join(target, f.path), 'utf8')]));
}

/** Exit 0; on failure the diff shows stderr. */
function expectOk(r: CliResult): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) as string });
}

function ran(job: SpecRunJson['jobs'][number] | undefined): JobResultJson {
  if (!job || !('runId' in job)) throw new Error(`expected a job that ran, got ${JSON.stringify(job)}`);
  return job;
}

// The commands use the STRATA_INPUT_<NAME>/STRATA_OUTPUT_<NAME> paths, given with either isolation
// (they are /inputs/<name> and /outputs/<name> under namespaces); jobs-isolation tests /inputs itself.
const PREPARE_AND_TRAIN = [
  'jobs:', //                                                                              1
  '  prepare:', //                                                                         2
  '    inputs:', //                                                                        3
  '      raw: { type: dataset, with: { ref: raw } }', //                                   4
  '    outputs:', //                                                                       5
  '      clean: { type: dataset, with: { ref: clean } }', //                               6
  '    run: echo prepared; cat "$STRATA_INPUT_RAW/a.txt" "$STRATA_INPUT_RAW/b.txt" > "$STRATA_OUTPUT_CLEAN/joined.txt"',
  '  train:', //                                                                           8
  '    inputs:', //                                                                        9
  '      data: prepare.outputs.clean', //                                                  10
  '    outputs:', //                                                                       11
  "      model: { type: dataset, with: { ref: 'model:candidate' } }", //                   12
  '    run: tr a-z A-Z < "$STRATA_INPUT_DATA/joined.txt" > "$STRATA_OUTPUT_MODEL/weights.txt"',
];

describe.concurrent('jobs run', () => {
  it(
    'prepare → train: both outputs committed, provenance naming the exact input versions; --job train alone reads the latest',
    SLOW,
    async () => {
      const { o, raw, rawVersion } = await withRaw();
      const file = writeSpec(join(fresh(), 'job.yaml'), ...PREPARE_AND_TRAIN);

      const r = await strata(['jobs', 'run', '--file', file, '--json'], o);
      expectOk(r);
      const result = parseJson<SpecRunJson>(r);
      expect(result.jobs.map((j) => [j.job, j.status])).toEqual([
        ['prepare', 'succeeded'],
        ['train', 'succeeded'],
      ]);
      const prepare = ran(result.jobs[0]);
      const train = ran(result.jobs[1]);
      expect(prepare.exitCode).toBe(0);
      // --json keeps stdout for the result: the job's own output goes to stderr (and the log).
      expect(r.stderr).toContain('prepared\n');
      expect(readFileSync(prepare.logPath, 'utf8')).toBe('prepared\n');
      // Output datasets that did not exist were created, and the run said so.
      expect(r.stderr).toMatch(/output clean: created dataset clean \(dst[a-z0-9]{12}\) on storage provider local/);
      expect(r.stderr).toMatch(/output model: created dataset model \(dst[a-z0-9]{12}\)/);

      const clean = await details(o, 'clean');
      const model = await details(o, 'model:candidate');
      expect(prepare.outputs).toEqual([{ name: 'clean', ref: clean.ref, committed: true, files: 1 }]);
      expect(train.outputs).toEqual([{ name: 'model', ref: model.ref, committed: true, tag: 'candidate', files: 1 }]);
      expect(clean).toMatchObject({ isCommitted: true, fileCount: 1 });
      expect(model).toMatchObject({ isCommitted: true, fileCount: 1, tags: ['candidate'] });
      expect(clean.provenance).toEqual({
        runId: prepare.runId,
        job: 'prepare',
        command: PREPARE_AND_TRAIN[6]!.slice('    run: '.length),
        exitCode: 0,
        startedAt: expect.any(String) as string,
        endedAt: expect.any(String) as string,
        inputs: [
          { name: 'raw', datasetId: raw.id, datasetName: 'raw', versionId: rawVersion.id, url: null, commit: null },
        ],
      });
      // train read what prepare made in this run: exactly that committed version.
      expect(model.provenance).toMatchObject({
        runId: train.runId,
        job: 'train',
        inputs: [
          {
            name: 'data',
            datasetId: clean.datasetId,
            datasetName: 'clean',
            versionId: clean.id,
            url: null,
            commit: null,
          },
        ],
      });
      expect(await contentsOf(o, 'clean')).toEqual({ 'joined.txt': 'alpha\nbeta\n' });
      expect(await contentsOf(o, 'model:candidate')).toEqual({ 'weights.txt': 'ALPHA\nBETA\n' });

      const trainRun = await strataJson<RunDetailsJson>(['jobs', 'details', '--id', train.runId], o);
      expect(trainRun).toMatchObject({
        id: train.runId,
        job: 'train',
        specFile: file,
        command: PREPARE_AND_TRAIN.at(-1)!.replace('    run: ', ''),
        status: 'succeeded',
        exitCode: 0,
        logPath: train.logPath,
        inputs: [
          {
            name: 'data',
            datasetId: clean.datasetId,
            datasetName: 'clean',
            versionId: clean.id,
            url: null,
            commit: null,
          },
        ],
        outputs: [
          { name: 'model', datasetId: model.datasetId, datasetName: 'model', versionId: model.id, committed: true },
        ],
      });
      expect(Date.parse(trainRun.endedAt!)).toBeGreaterThanOrEqual(Date.parse(trainRun.startedAt));
      // A person reads each version with its dataset's name beside the id.
      const runText = await strata(['jobs', 'details', '--id', train.runId], o);
      expect(runText.stdout).toContain(`data: ${clean.ref} (clean)`);
      expect(runText.stdout).toContain(`model: ${model.ref} (model)`);
      const versionText = await strata(['datasets', 'versions', 'details', '--id', model.ref], o);
      expect(versionText.stdout).toContain(`data: ${clean.ref} (clean)`);
      const runs = await strataJson<RunJson[]>(['jobs', 'list'], o);
      expect(runs.map((run) => [run.id, run.job, run.status])).toEqual([
        [train.runId, 'train', 'succeeded'],
        [prepare.runId, 'prepare', 'succeeded'],
      ]);

      // A newer committed version of clean, made by hand: train alone reads it, and says so.
      const newer = await committedVersion(o, 'clean', contents({ 'joined.txt': 'gamma\n' }));
      const alone = await strata(['jobs', 'run', '--file', file, '--job', 'train', '--json'], o);
      expectOk(alone);
      expect(alone.stderr).toContain(
        `input data: prepare.outputs.clean is clean:${newer.id}, the latest committed version of clean`,
      );
      expect(alone.stderr).not.toContain('created dataset');
      const second = parseJson<SpecRunJson>(alone);
      expect(second.jobs.map((j) => j.job)).toEqual(['train']);
      const model2 = await details(o, 'model:candidate');
      expect(model2.id).not.toBe(model.id); // the tag moved to the new version
      expect(model2.provenance).toMatchObject({
        runId: ran(second.jobs[0]).runId,
        job: 'train',
        inputs: [
          {
            name: 'data',
            datasetId: clean.datasetId,
            datasetName: 'clean',
            versionId: newer.id,
            url: null,
            commit: null,
          },
        ],
      });
      expect(await contentsOf(o, 'model:candidate')).toEqual({ 'weights.txt': 'GAMMA\n' });
    },
  );

  it('a failed job stops its dependants; its output stays uncommitted and stderr says how to commit or resume', async () => {
    const o = { home: fresh() };
    const file = writeSpec(
      join(fresh(), 'job.yaml'),
      'jobs:',
      '  prepare:',
      '    outputs:',
      '      clean: { type: dataset, with: { ref: clean } }',
      '    run: echo half > "$STRATA_OUTPUT_CLEAN/half.txt"; echo broken >&2; exit 3',
      '  train:',
      '    inputs:',
      '      data: prepare.outputs.clean',
      '    outputs:',
      '      model: { type: dataset, with: { ref: model } }',
      '    run: echo "train ran" > "$STRATA_OUTPUT_MODEL/x"',
      '  lint:',
      '    run: "true"',
    );
    const r = await strata(['jobs', 'run', '--file', file, '--json'], o);
    // Exit 7 is "a job failed", whatever the job's own code (3 would read as Strata's "not found").
    expect(r.code).toBe(7);
    const result = parseJson<SpecRunJson>(r);
    expect(result.jobs.map((j) => [j.job, j.status])).toEqual([
      ['prepare', 'failed'],
      ['train', 'skipped'],
      ['lint', 'succeeded'],
    ]);
    expect(result.jobs[1]).toEqual({ job: 'train', status: 'skipped', reason: 'needs prepare, which did not succeed' });
    const prepare = ran(result.jobs[0]);
    expect(prepare.exitCode).toBe(3);
    const out = prepare.outputs[0]!;
    expect(out).toMatchObject({ name: 'clean', committed: false, files: 1 });
    expect(r.stderr).toContain('broken\n');
    expect(r.stderr).toContain(`job prepare failed (exit 3); its log: ${prepare.logPath}`);
    expect(r.stderr).toContain(`strata datasets versions commit --id ${out.ref}`);
    expect(r.stderr).toContain(`--output clean=clean --resume-from clean=${out.ref}`);

    expect(await details(o, out.ref)).toMatchObject({ isCommitted: false, fileCount: 1 });
    expect(await contentsOf(o, out.ref)).toEqual({ 'half.txt': 'half\n' });
    // train never ran: no run, and its output dataset was never created.
    const runs = await strataJson<RunJson[]>(['jobs', 'list'], o);
    expect(runs.map((run) => [run.job, run.status, run.exitCode]).sort()).toEqual([
      ['lint', 'succeeded', 0],
      ['prepare', 'failed', 3],
    ]);
    const names = (await strataJson<DatasetJson[]>(['datasets', 'list'], o)).map((d) => d.name);
    expect(names).toEqual(['clean']);
    // The printed way forward works.
    await strataJson(['datasets', 'versions', 'commit', '--id', out.ref], o);
    expect(await details(o, 'clean')).toMatchObject({ ref: out.ref, isCommitted: true });
  });

  it('env and workingDirectory (relative to the spec file); a :tag output; a dataset created once', async () => {
    const o = { home: fresh() };
    const root = fresh();
    mkdirSync(join(root, 'work', 'src'), { recursive: true });
    const file = writeSpec(
      join(root, 'specs', 'job.yaml'),
      'jobs:',
      '  report:',
      '    env: { GREETING: hello there, EPOCHS: 10, RATE: "0.5" }',
      '    workingDirectory: ../work/src',
      '    outputs:',
      "      out: { type: dataset, with: { ref: 'reports:v1' } }",
      '    run: pwd > "$STRATA_OUTPUT_OUT/pwd.txt"; echo "$GREETING/$EPOCHS/$RATE" > "$STRATA_OUTPUT_OUT/env.txt"',
    );
    const elsewhere = fresh(); // the command runs from another directory: the spec's directory is what counts
    const first = await strata(['jobs', 'run', '--file', file], { ...o, cwd: elsewhere });
    expectOk(first);
    expect(first.stderr).toMatch(/output out: created dataset reports \(dst[a-z0-9]{12}\) on storage provider local/);
    expect(first.stdout).toMatch(/report .* succeeded .* out: dst[a-z0-9]{12}:[a-z0-9]{7} \[v1\]/);
    expect(await contentsOf(o, 'reports:v1')).toEqual({
      'pwd.txt': `${join(root, 'work', 'src')}\n`,
      'env.txt': 'hello there/10/0.5\n',
    });
    const v1 = await details(o, 'reports:v1');
    expect(v1.tags).toEqual(['v1']);

    const again = await strata(['jobs', 'run', '--file', file], { ...o, cwd: elsewhere });
    expectOk(again);
    expect(again.stderr).not.toContain('created dataset');
    const moved = await details(o, 'reports:v1');
    expect(moved.id).not.toBe(v1.id);
    expect(moved.datasetId).toBe(v1.datasetId);
    expect((await details(o, v1.ref)).tags).toEqual([]);
    expect(await strataJson<DatasetJson[]>(['datasets', 'list'], o)).toHaveLength(1);
  });

  it('logs: {type: dataset} ends as a committed version holding job.log with what the job printed', async () => {
    const o = { home: fresh() };
    const file = writeSpec(
      join(fresh(), 'job.yaml'),
      'jobs:',
      '  noisy:',
      '    logs: { type: dataset, with: { ref: noisy-logs } }',
      '    run: echo "to stdout"; echo "to stderr" >&2; echo "more stdout"',
    );
    const r = await strata(['jobs', 'run', '--file', file], o);
    expectOk(r);
    // Streamed to the terminal as well: stdout to stdout, stderr to stderr.
    expect(r.stdout).toMatch(/^to stdout\nmore stdout\n/);
    expect(r.stderr).toContain('to stderr\n');
    const logs = await details(o, 'noisy-logs');
    expect(logs).toMatchObject({ isCommitted: true, fileCount: 1 });
    const files = await contentsOf(o, 'noisy-logs');
    expect(Object.keys(files)).toEqual(['job.log']);
    for (const line of ['to stdout', 'to stderr', 'more stdout']) expect(files['job.log']).toContain(`${line}\n`);
    const [run] = await strataJson<RunJson[]>(['jobs', 'list'], o);
    expect(logs.provenance).toMatchObject({ runId: run!.id, job: 'noisy', inputs: [] });
    expect(readFileSync(run!.logPath, 'utf8')).toBe(files['job.log']);
  });
});

describe.concurrent('jobs exec', () => {
  it(
    'while it runs its output version can be read by ref; the commit is exactly what /outputs holds at exit',
    SLOW,
    async () => {
      const o = { home: fresh() };
      const flags = fresh();
      const step = (n: number) => join(flags, `go${n}`);
      // a deletes as the directory does (deleteSync default); b keeps deleted files until the end.
      const script = [
        'for d in "$STRATA_OUTPUT_A" "$STRATA_OUTPUT_B"; do echo keep > "$d/keep.txt"; echo scratch > "$d/scratch.txt"; done',
        `while [ ! -e ${step(1)} ]; do sleep 0.05; done`,
        'for d in "$STRATA_OUTPUT_A" "$STRATA_OUTPUT_B"; do rm "$d/scratch.txt"; echo later > "$d/later.txt"; done',
        `while [ ! -e ${step(2)} ]; do sleep 0.05; done`,
        'for d in "$STRATA_OUTPUT_A" "$STRATA_OUTPUT_B"; do echo last > "$d/last.txt"; done',
      ].join('\n');
      const job = startStrata(
        [
          'jobs',
          'exec',
          '--output',
          'a=outa,sync=1s',
          '--output',
          'b=outb,sync=1s,deleteSync=false',
          '--',
          'sh',
          '-c',
          script,
        ],
        o,
      );
      try {
        const [a, b] = await Promise.all(
          ['outa', 'outb'].map(async (ds) => {
            const version = await poll(`a version of ${ds}`, async () => (await versionsOf(o, ds))[0]);
            return `${ds}:${version.id}`;
          }),
        );
        const paths = async (ref: string) => (await listFilesJson(o, ref)).map((f) => f.path).sort();
        for (const ref of [a!, b!]) {
          await poll(`first sync of ${ref}`, async () => (await paths(ref)).length === 2);
          expect(await details(o, ref)).toMatchObject({ isCommitted: false });
          expect(await contentsOf(o, ref)).toEqual({ 'keep.txt': 'keep\n', 'scratch.txt': 'scratch\n' });
        }
        writeFileSync(step(1), '');
        await poll('a sync after the delete', async () => (await paths(a!)).join() === 'keep.txt,later.txt');
        await poll('b syncs later.txt', async () => (await paths(b!)).includes('later.txt'));
        // deleteSync=false: the sync that brought later.txt left scratch.txt in the version.
        expect(await paths(b!)).toEqual(['keep.txt', 'later.txt', 'scratch.txt']);
        writeFileSync(step(2), '');
        const r = await job.done;
        expectOk(r);
        // The final sync makes each version exactly the directory, deleteSync or not.
        for (const ref of [a!, b!]) {
          expect(await details(o, ref)).toMatchObject({ isCommitted: true, fileCount: 3 });
          expect(await contentsOf(o, ref)).toEqual({
            'keep.txt': 'keep\n',
            'later.txt': 'later\n',
            'last.txt': 'last\n',
          });
        }
      } finally {
        job.child.kill('SIGKILL');
      }
    },
  );

  it('a job that exits 3 fails with exit 7 (a job failed), its own code in the message and the JSON result', async () => {
    const o = { home: fresh() };
    const text = await strata(['jobs', 'exec', '--', 'sh', '-c', 'exit 3'], o);
    expect(text.code).toBe(7);
    expect(text.stderr).toMatch(/job exec failed \(exit 3\); its log: /);
    const json = await strata(['jobs', 'exec', '--json', '--', 'sh', '-c', 'kill -TERM $$'], o);
    expect(json.code).toBe(7);
    // Killed by a signal: the shell's convention, 128 + its number.
    expect(parseJson<JobResultJson>(json)).toMatchObject({ status: 'failed', exitCode: 143 });
  });

  it('an http input appears under the input path, fetched once into the cache', async () => {
    let requests = 0;
    const body = Buffer.from('weights '.repeat(1000));
    const server = createServer((req, res) => {
      requests++;
      if (req.url !== '/models/weights.bin') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/weights.bin`;
      const o = { home: fresh() };
      const exec = async (): Promise<JobResultJson> => {
        const r = await strata(
          [
            'jobs',
            'exec',
            '--json',
            '--input',
            `w=${url}`,
            '--output',
            'o=copies',
            '--',
            'sh',
            '-c',
            'cp "$STRATA_INPUT_W/weights.bin" "$STRATA_OUTPUT_O/" && echo "$STRATA_INPUT_W" > "$STRATA_OUTPUT_O/where"',
          ],
          o,
        );
        expectOk(r);
        return parseJson<JobResultJson>(r);
      };
      const first = await exec();
      expect(requests).toBe(1);
      const second = await exec();
      expect(requests).toBe(1); // the second run found it in the cache
      for (const run of [first, second]) {
        expect(run).toMatchObject({ status: 'succeeded', inputs: [{ name: 'w', url }] });
        const files = await contentsOf(o, run.outputs[0]!.ref);
        expect(files['weights.bin']).toBe(body.toString());
        expect(files.where).toEqual(
          run.isolation === 'namespace' ? '/inputs/w\n' : expect.stringMatching(/\/inputs\/w\n$/),
        );
        const provenance = (await details(o, run.outputs[0]!.ref)).provenance;
        expect(provenance?.inputs).toEqual([
          { name: 'w', datasetId: null, datasetName: null, versionId: null, url, commit: null },
        ]);
      }
    } finally {
      server.close();
    }
  });
});
