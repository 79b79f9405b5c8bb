import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectFailure } from '../helpers/expect-cli.js';
import { committedVersion, createDataset, writeFiles } from '../helpers/fixtures.js';
import { writeSpec } from '../helpers/jobs.js';
import { catalogRows } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-jobs-spec-');

beforeAll(assertBuilt);

interface Setup {
  o: CliOptions;
  dir: string;
  /** a file the spec's first job would create if anything ran */
  ran: string;
}

/**
 * One home for the whole file, with a committed dataset `raw`: every test here must leave it
 * exactly as it was (checked on the catalog itself), so they can share it.
 */
let home: { o: CliOptions; catalog: Record<string, unknown[]> };

beforeAll(async () => {
  const o = { home: fresh() };
  await createDataset(o, 'raw');
  await committedVersion(o, 'raw', writeFiles(fresh(), { 'a.txt': 'a' }));
  home = { o, catalog: catalogRows(join(o.home, 'catalog.db')) };
});

/** A directory for one test's spec, in the shared home. */
function setup(): Setup {
  const dir = fresh();
  return { o: home.o, dir, ran: join(dir, 'ran') };
}

/** A first job that is fine (it would create a dataset and a file), followed by the lines under test. */
const firstJob = (s: Setup): string[] => [
  'jobs:', //                                                                   1
  '  first:', //                                                                2
  '    inputs:', //                                                             3
  '      raw: { type: dataset, with: { ref: raw } }', //                        4
  '    outputs:', //                                                            5
  '      made: { type: dataset, with: { ref: made } }', //                      6
  `    run: touch ${s.ran}`, //                                                 7
];

/** Nothing ran: no run recorded, no dataset or version made (the catalog is as it was), no file written. */
function expectNothingRan(s: Setup): void {
  expect(catalogRows(join(s.o.home, 'catalog.db'))).toEqual(home.catalog);
  expect(existsSync(s.ran)).toBe(false);
}

/** `jobs run --file` fails with `exitCode`, one line naming `file:line`, as text and as JSON. */
async function expectSpecFailure(s: Setup, lines: string[], line: number, exitCode = 2): Promise<string> {
  const file = writeSpec(join(s.dir, 'job.yaml'), ...lines);
  const { error } = await expectFailure(['jobs', 'run', '--file', file], s.o, exitCode);
  expect(error.message.startsWith(`${file}:${line}: `)).toBe(true);
  expectNothingRan(s);
  return error.message;
}

describe.concurrent('jobs run: a spec error stops everything before anything runs, naming file:line', () => {
  it('unknown job in needs', async () => {
    const s = setup();
    const message = await expectSpecFailure(
      s,
      [...firstJob(s), '  train:', '    needs: [first, prepare]', '    run: echo train'],
      9,
    );
    expect(message).toContain('job train needs unknown job "prepare"');
  });

  it('a cycle', async () => {
    const s = setup();
    const message = await expectSpecFailure(
      s,
      [
        ...firstJob(s),
        '  a:', //               8
        '    needs: [first, b]', // 9
        '    run: echo a', //    10
        '  b:', //               11
        '    needs: [a]', //     12
        '    run: echo b', //    13
      ],
      12,
    );
    expect(message).toContain('jobs form a cycle: a → b → a');
  });

  it('an unknown output reference (prepare.outputs.nope)', async () => {
    const s = setup();
    const message = await expectSpecFailure(
      s,
      [...firstJob(s), '  train:', '    inputs:', '      data: first.outputs.nope', '    run: echo train'],
      10,
    );
    expect(message).toContain('input data: job first has no output "nope"');
  });

  it('a bad ref (a:b:c)', async () => {
    const s = setup();
    const message = await expectSpecFailure(
      s,
      [
        ...firstJob(s),
        '  train:',
        '    inputs:',
        "      data: { type: dataset, with: { ref: 'a:b:c' } }",
        '    run: x',
      ],
      10,
    );
    expect(message).toContain('input data');
    expect(message).toContain('"a:b:c"');
  });

  it('a bad interval (sync: 3 parsecs)', async () => {
    const s = setup();
    const message = await expectSpecFailure(
      s,
      [
        ...firstJob(s),
        '  train:',
        '    outputs:',
        '      ckpt:',
        '        type: dataset',
        '        with: { ref: ckpt }',
        '        sync: 3 parsecs',
        '    run: x',
      ],
      13,
    );
    expect(message).toContain('output ckpt: sync "3 parsecs" is not an interval');
  });

  it('uses: container@v1, refused with the run line that does the same', async () => {
    const s = setup();
    const message = await expectSpecFailure(
      s,
      [
        ...firstJob(s),
        '  train:',
        '    uses: container@v1',
        '    with:',
        '      image: pytorch/pytorch:2.3',
        '      args: [python, train.py, --lr, "0.1", --name, "my run"]',
      ],
      9,
    );
    expect(message).toContain("write `run: python train.py --lr 0.1 --name 'my run'`");
    expect(message).toContain('pytorch/pytorch:2.3');
  });

  it('a missing input dataset: exit 3 before any job runs, naming the line of the input', async () => {
    const s = setup();
    const message = await expectSpecFailure(
      s,
      [
        ...firstJob(s),
        '  train:', //                                                        8
        '    needs: [first]', //                                              9
        '    inputs:', //                                                     10
        '      data: { type: dataset, with: { ref: imagenet } }', //          11
        '    run: echo train', //                                             12
      ],
      11,
      3,
    );
    expect(message).toContain('job train: input data: dataset "imagenet" not found');
  });

  it('a missing version or tag of an input: exit 3 before any job runs', async () => {
    const s = setup();
    const message = await expectSpecFailure(
      s,
      [
        ...firstJob(s),
        '  train:',
        '    inputs:',
        '      data: { type: dataset, with: { ref: raw:prod } }',
        '    run: x',
      ],
      10,
      3,
    );
    expect(message).toContain('no version or tag "prod"');
  });

  it('an output to be created on a storage provider that does not exist: exit 3 before any job runs', async () => {
    const s = setup();
    const message = await expectSpecFailure(
      s,
      [
        ...firstJob(s),
        '  train:', //                                                                  8
        '    outputs:', //                                                              9
        '      model: { type: dataset, with: { ref: model, storageProviderId: s3-nope } }', // 10
        '    run: echo train',
      ],
      10,
      3,
    );
    expect(message).toContain('job train: output model: storage provider "s3-nope" not found');
  });

  it('a workingDirectory that does not exist: exit 3 before any job runs', async () => {
    const s = setup();
    const message = await expectSpecFailure(
      s,
      [...firstJob(s), '  train:', '    workingDirectory: ../nope', '    run: echo train'],
      8,
      3,
    );
    expect(message).toContain(`job train: workingDirectory ../nope (${join(s.dir, '..', 'nope')}) is not a directory`);
  });

  it('--job NAME that the spec does not have: exit 3, listing the jobs', async () => {
    const s = setup();
    const file = writeSpec(join(s.dir, 'job.yaml'), ...firstJob(s));
    const { error } = await expectFailure(['jobs', 'run', '--file', file, '--job', 'train'], s.o, 3);
    expect(error.message).toBe(`${file} has no job "train" (jobs: first)`);
    expectNothingRan(s);
  });

  it('--job alone whose upstream output has no committed version: exit 3 before it runs, saying what to run', async () => {
    const s = setup();
    const file = writeSpec(
      join(s.dir, 'job.yaml'),
      ...firstJob(s),
      '  train:',
      '    inputs:',
      '      data: first.outputs.made',
      '    outputs:',
      '      model: { type: dataset, with: { ref: model } }',
      '    run: echo train',
    );
    const { error } = await expectFailure(['jobs', 'run', '--file', file, '--job', 'train'], s.o, 3);
    expect(error.message).toMatch(
      new RegExp(`^${file}:10: job train: input data: first.outputs.made has no committed`),
    );
    expect(error.message).toContain(`strata jobs run --file ${file} --job first`);
    expectNothingRan(s);
  });

  it('a spec file that does not exist: exit 3', async () => {
    const s = setup();
    const { error } = await expectFailure(['jobs', 'run', '--file', join(s.dir, 'nope.yaml')], s.o, 3);
    expect(error.message).toContain('nope.yaml does not exist');
    expectNothingRan(s);
  });
});

describe.concurrent('jobs exec: bad flags fail before anything runs', () => {
  it('bad --input, --output, --resume-from; no command', async () => {
    const s = setup();
    const cases: [string[], number, string][] = [
      [['--input', 'data=a:b:c', '--', 'true'], 2, '--input data=a:b:c'],
      [['--input', 'data=nope', '--', 'true'], 3, 'dataset "nope" not found'],
      [['--output', 'o=made,sync=3 parsecs', '--', 'true'], 2, 'sync "3 parsecs"'],
      [['--output', 'o=made,colour=red', '--', 'true'], 2, 'unknown option "colour=red"'],
      [['--output', 'o=made', '--resume-from', 'x=raw', '--', 'true'], 2, 'there is no --output x'],
      [['--output', 'o=made', '--resume-from', 'o=raw', '--', 'true'], 2, 'that is a version of raw'],
      [['--output', 'o=raw', '--resume-from', 'o=raw:zzzzzzz', '--', 'true'], 3, 'no version or tag "zzzzzzz"'],
      [['--output', 'o=made'], 2, 'give the command after --'],
      [['--output', 'o=made,storageProviderId=nope', '--', 'true'], 3, 'storage provider "nope" not found'],
    ];
    for (const [args, code, what] of cases) {
      const r = await strata(['jobs', 'exec', ...args], s.o);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code, stdout: '' });
      expect(r.stderr).toContain(what);
    }
    expectNothingRan(s);
  });
});
