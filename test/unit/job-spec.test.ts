import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { jobOrder } from '../../src/jobs/dag.js';
import { DEFAULT_LOG_SYNC_MS, DEFAULT_SYNC_MS, parseSpec, type JobSpec } from '../../src/jobs/spec.js';
import { parseExecInput, parseExecOutput } from '../../src/jobs/exec-args.js';

const FILE = 'specs/job.yaml';

/** Lines joined with \n: a spec whose line numbers can be read off the array index (+1). */
const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** Parses and orders a spec as `jobs run` does; returns the jobs in needs order. */
function load(text: string): JobSpec[] {
  return jobOrder(parseSpec(text, FILE), FILE);
}

/** The spec error `load` raises: a UsageError (exit 2, code ESPEC) whose message starts with file:line. */
function specError(text: string, line: number): string {
  try {
    load(text);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    const e = error as UsageError;
    expect({ exitCode: e.exitCode, code: e.code }).toEqual({ exitCode: 2, code: 'ESPEC' });
    expect(e.message).toMatch(new RegExp(`^${FILE}:${line}: \\S`));
    expect(e.message).not.toContain('\n');
    return e.message;
  }
  throw new Error('expected a spec error, the spec was accepted');
}

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    return error as UsageError;
  }
  throw new Error('expected a UsageError, nothing was thrown');
}

describe('parseSpec: the Gradient-workflow shape', () => {
  it('reads every kind of input and output, with defaults and line numbers', () => {
    const jobs = parseSpec(
      yaml(
        'jobs:', //                                                             1
        '  prepare:', //                                                        2
        '    inputs:', //                                                       3
        '      raw: { type: dataset, with: { ref: cifar10:latest } }', //       4
        '      extra:', //                                                      5
        '        type: http', //                                                6
        '        with: { url: "https://example.org/x.tar.gz", extract: true }', // 7
        '    outputs:', //                                                      8
        '      clean: { type: dataset, with: { ref: cifar10-clean } }', //      9
        '    run: python prep.py /inputs/raw /outputs/clean', //                10
        '  train:', //                                                          11
        '    inputs:', //                                                       12
        '      data: prepare.outputs.clean', //                                 13
        '    outputs:', //                                                      14
        '      ckpt:', //                                                       15
        '        type: dataset', //                                             16
        "        with: { ref: 'ckpt:candidate', storageProviderId: spl0123456789ab }", // 17
        '        sync: 30s', //                                                 18
        '        deleteSync: false', //                                         19
        '      final: { type: dataset, with: { ref: final }, sync: off }', //   20
        '    logs: { type: dataset, with: { ref: train-logs } }', //            21
        "    env: { EPOCHS: 10, LR: '0.1', DEBUG: true }", //                   22
        '    workingDirectory: ./src', //                                       23
        '    run: |', //                                                        24
        '      python train.py \\', //                                          25
        '        --data /inputs/data', //                                       26
      ),
      FILE,
    );
    expect([...jobs.keys()]).toEqual(['prepare', 'train']);
    const prepare = jobs.get('prepare')!;
    expect(prepare).toMatchObject({ name: 'prepare', line: 2, needs: [], env: {} });
    expect(prepare.inputs).toEqual([
      { name: 'raw', line: 4, kind: 'dataset', ref: 'cifar10:latest' },
      { name: 'extra', line: 5, kind: 'http', url: 'https://example.org/x.tar.gz', extract: true },
    ]);
    expect(prepare.outputs).toEqual([
      { name: 'clean', line: 9, dataset: 'cifar10-clean', syncMs: DEFAULT_SYNC_MS, deleteSync: true },
    ]);
    expect(prepare.workingDirectory).toBeUndefined();
    expect(prepare.logs).toBeUndefined();

    const train = jobs.get('train')!;
    // An input from another job's output implies needing that job.
    expect(train.needs).toEqual(['prepare']);
    expect(train.inputs).toEqual([{ name: 'data', line: 13, kind: 'job', job: 'prepare', output: 'clean' }]);
    expect(train.outputs).toEqual([
      {
        name: 'ckpt',
        line: 15,
        dataset: 'ckpt',
        tag: 'candidate',
        storageProviderId: 'spl0123456789ab',
        syncMs: 30_000,
        deleteSync: false,
      },
      { name: 'final', line: 20, dataset: 'final', syncMs: null, deleteSync: true },
    ]);
    expect(train.logs).toEqual({
      name: 'logs',
      line: 21,
      dataset: 'train-logs',
      syncMs: DEFAULT_LOG_SYNC_MS,
      deleteSync: true,
    });
    expect(DEFAULT_SYNC_MS).toBe(60_000);
    expect(DEFAULT_LOG_SYNC_MS).toBe(10_000);
    // env values are strings, as a process sees them.
    expect(train.env).toEqual({ EPOCHS: '10', LR: '0.1', DEBUG: 'true' });
    expect(train.workingDirectory).toBe('./src');
    expect(train.run).toBe('python train.py \\\n  --data /inputs/data\n');
  });

  it('accepts sync intervals in ms, s, m, h', () => {
    const sync = (value: string): number | null =>
      parseSpec(
        yaml(
          'jobs:',
          '  a:',
          '    outputs:',
          `      o: { type: dataset, with: { ref: o }, sync: ${value} }`,
          '    run: x',
        ),
        FILE,
      ).get('a')!.outputs[0]!.syncMs;
    expect(sync('1s')).toBe(1000);
    expect(sync('1500ms')).toBe(1500);
    expect(sync('10m')).toBe(600_000);
    expect(sync('1.5h')).toBe(5_400_000);
    expect(sync('off')).toBeNull();
    expect(sync('false')).toBeNull();
  });
});

describe('jobOrder', () => {
  it('puts each job after what it needs, and keeps the file order otherwise', () => {
    const order = load(
      yaml(
        'jobs:',
        '  report: { needs: [train, evaluate], run: r }',
        '  evaluate: { needs: [train], run: e }',
        '  train: { needs: [prepare], run: t }',
        '  lint: { run: l }',
        '  prepare: { run: p }',
      ),
    ).map((j) => j.name);
    expect(order).toEqual(['prepare', 'train', 'evaluate', 'report', 'lint']);
  });

  it('orders by implied needs (JOB.outputs.NAME inputs) too', () => {
    const order = load(
      yaml(
        'jobs:',
        '  train:',
        '    inputs: { data: prepare.outputs.clean }',
        '    run: t',
        '  prepare:',
        '    outputs: { clean: { type: dataset, with: { ref: c } } }',
        '    run: p',
      ),
    ).map((j) => j.name);
    expect(order).toEqual(['prepare', 'train']);
  });
});

describe('parseSpec: every spec error names the file and the line, before anything runs', () => {
  it('unknown job in needs: the line of the needs entry', () => {
    const message = specError(
      yaml('jobs:', '  a:', '    run: x', '  b:', '    needs:', '      - a', '      - prepare', '    run: y'),
      7,
    );
    expect(message).toContain('job b needs unknown job "prepare"');
  });

  it('a cycle: the line of the need that closes it, and the cycle spelled out', () => {
    const message = specError(
      yaml(
        'jobs:',
        '  a:',
        '    needs: [c]',
        '    run: x',
        '  b:',
        '    needs: [a]',
        '    run: y',
        '  c:',
        '    needs: [b]',
        '    run: z',
      ),
      6,
    );
    expect(message).toContain('cycle: a → c → b → a');
  });

  it('a job that needs itself is a cycle', () => {
    expect(specError(yaml('jobs:', '  a:', '    needs: [a]', '    run: x'), 3)).toContain('a → a');
  });

  it('a cycle through JOB.outputs.NAME inputs', () => {
    const message = specError(
      yaml(
        'jobs:',
        '  a:',
        '    inputs: { x: b.outputs.o }',
        '    outputs: { o: { type: dataset, with: { ref: oa } } }',
        '    run: x',
        '  b:',
        '    inputs:',
        '      y: a.outputs.o',
        '    outputs: { o: { type: dataset, with: { ref: ob } } }',
        '    run: y',
      ),
      8,
    );
    expect(message).toMatch(/cycle: (a → b → a|b → a → b)/);
  });

  it('unknown output reference (prepare.outputs.nope): the line of the input', () => {
    const message = specError(
      yaml(
        'jobs:',
        '  prepare:',
        '    outputs:',
        '      clean: { type: dataset, with: { ref: clean } }',
        '    run: p',
        '  train:',
        '    inputs:',
        '      data: prepare.outputs.nope',
        '    run: t',
      ),
      8,
    );
    expect(message).toContain('job prepare has no output "nope"');
  });

  it('an output reference to an unknown job', () => {
    const message = specError(yaml('jobs:', '  train:', '    inputs:', '      data: ghost.outputs.x', '    run: t'), 4);
    expect(message).toContain('unknown job "ghost"');
  });

  it('an input that reads its own job’s output', () => {
    const message = specError(
      yaml(
        'jobs:',
        '  a:',
        '    outputs: { o: { type: dataset, with: { ref: o } } }',
        '    inputs:',
        '      i: a.outputs.o',
        '    run: x',
      ),
      5,
    );
    expect(message).toContain('reads its own output');
  });

  it('a bad ref in an input or an output (a:b:c), and a bad tag in an output', () => {
    expect(
      specError(
        yaml('jobs:', '  a:', '    inputs:', "      raw: { type: dataset, with: { ref: 'a:b:c' } }", '    run: x'),
        4,
      ),
    ).toMatch(/input raw: .*"a:b:c"/);
    expect(
      specError(
        yaml(
          'jobs:',
          '  a:',
          '    outputs:',
          '      o:',
          '        type: dataset',
          "        with: { ref: 'a:b:c' }",
          '    run: x',
        ),
        6,
      ),
    ).toMatch(/output o: .*"a:b:c"/);
    expect(
      specError(
        yaml('jobs:', '  a:', '    outputs:', "      o: { type: dataset, with: { ref: 'ds:latest' } }", '    run: x'),
        4,
      ),
    ).toContain('output o');
  });

  it('a bad interval (sync: 3 parsecs), and one under a second', () => {
    const message = specError(
      yaml(
        'jobs:',
        '  a:',
        '    outputs:',
        '      o:',
        '        type: dataset',
        '        with: { ref: o }',
        '        sync: 3 parsecs',
        '    run: x',
      ),
      7,
    );
    expect(message).toContain('sync "3 parsecs" is not an interval');
    expect(
      specError(
        yaml('jobs:', '  a:', '    outputs:', '      o: { type: dataset, with: { ref: o }, sync: 10ms }', '    run: x'),
        4,
      ),
    ).toContain('at least 1s');
  });

  it('uses: container@v1 is refused with the equivalent run line built from with.args', () => {
    const message = specError(
      yaml(
        'jobs:',
        '  train:',
        '    uses: container@v1',
        '    with:',
        '      image: python:3.12',
        '      args: [python, train.py, --epochs, "10", --note, "two words"]',
      ),
      3,
    );
    expect(message).toContain("`run: python train.py --epochs 10 --note 'two words'`");
    expect(message).toContain('python:3.12');
    expect(message).toContain('strata jobs exec');
  });

  it('git inputs: url and an optional branch, tag or commit; ext:: and option-like remotes refused', () => {
    const [job] = load(
      yaml(
        'jobs:',
        '  a:',
        '    inputs:',
        '      code: { type: git, with: { url: "https://github.com/org/repo.git", ref: v1.2 } }',
        '      tip: { type: git, with: { url: "git@github.com:org/repo.git" } }',
        '    run: x',
      ),
    );
    expect(job!.inputs).toEqual([
      { name: 'code', line: 4, kind: 'git', url: 'https://github.com/org/repo.git', ref: 'v1.2' },
      { name: 'tip', line: 5, kind: 'git', url: 'git@github.com:org/repo.git' },
    ]);
    const input = (w: string): string =>
      yaml('jobs:', '  a:', '    inputs:', `      c: { type: git, with: ${w} }`, '    run: x');
    expect(specError(input('{ url: "ext::sh -c touch% /tmp/pwned" }'), 4)).toContain(
      'ext::… run commands and are refused',
    );
    expect(specError(input('{ url: "fd::17" }'), 4)).toContain('fd::');
    expect(specError(input('{ url: "--upload-pack=touch /tmp/pwned" }'), 4)).toContain('is not a git remote');
    expect(specError(input('{ url: /srv/repo.git, ref: "--orphan" }'), 4)).toContain('with.ref must be');
    expect(specError(input('{ url: /srv/repo.git, ref: "a..b" }'), 4)).toContain('with.ref must be');
    expect(specError(input('{ ref: main }'), 4)).toContain('needs with.url');
  });

  it('uses: git-checkout@v1 is refused, naming the git input that does the same', () => {
    const message = specError(
      yaml('jobs:', '  a:', '    uses: git-checkout@v1', '    with: { url: "https://github.com/org/repo.git" }'),
      3,
    );
    expect(message).toContain('type: git');
    expect(message).toContain('/inputs/NAME');
  });

  it('everything else a job can get wrong', () => {
    const cases: [string, number, string | RegExp][] = [
      [yaml('jobs:', '  a:', '    inputs: {}'), 2, '"run" must be a shell command'],
      [yaml('jobs:', '  a:', '    run: ""'), 3, '"run" must be a shell command'],
      [yaml('jobs:', '  a:', '    run: x', '    image: python'), 4, 'unknown key "image"'],
      [yaml('jobs:', '  a:', '    run: x', '  a:', '    run: y'), 4, /unique|duplicate/i],
      [yaml('jobs:', '  a:', '    needs: b', '    run: x', '  b: { run: y }'), 3, '"needs" must be a list'],
      [yaml('jobs:', '  a:', '    env: [A]', '    run: x'), 3, '"env" must map'],
      [yaml('jobs:', '  a:', '    inputs:', '      raw: cifar10', '    run: x'), 4, 'neither JOB.outputs.NAME'],
      [
        yaml('jobs:', '  a:', '    inputs:', '      raw: { type: s3, with: { ref: x } }', '    run: x'),
        4,
        'type must be',
      ],
      [
        yaml('jobs:', '  a:', '    inputs:', '      u: { type: http, with: { url: ftp://x } }', '    run: x'),
        4,
        'with.url',
      ],
      [yaml('jobs:', '  a:', '    outputs:', '      o: { type: dataset }', '    run: x'), 4, 'needs with.ref'],
      [
        yaml(
          'jobs:',
          '  a:',
          '    outputs:',
          '      o: { type: dataset, with: { ref: o }, deleteSync: no }',
          '    run: x',
        ),
        4,
        'deleteSync',
      ],
      [yaml('jobs:', '  bad name:', '    run: x'), 2, 'job name'],
      [yaml('jobs: {}'), 1, '"jobs" must map'],
      [yaml('jobs:', '  a:', '    run: x', 'version: 2'), 4, 'unknown top-level key "version"'],
      [yaml('- a', '- b'), 1, 'mapping with a "jobs" key'],
      [yaml('jobs:', '  a:', '    run: [unclosed'), 4, /^[^:]+:4: Flow sequence [^:]+$/],
    ];
    for (const [text, line, what] of cases) {
      const message = specError(text, line);
      if (typeof what === 'string') expect(message).toContain(what);
      else expect(message).toMatch(what);
    }
  });
});

describe('jobs exec flags', () => {
  it('--input NAME=REF or NAME=URL', () => {
    expect(parseExecInput('data=cifar10:prod')).toEqual({
      name: 'data',
      line: 0,
      kind: 'dataset',
      ref: 'cifar10:prod',
    });
    expect(parseExecInput('w=http://127.0.0.1:9/w.bin')).toEqual({
      name: 'w',
      line: 0,
      kind: 'http',
      url: 'http://127.0.0.1:9/w.bin',
      extract: false,
    });
    expect(usageError(() => parseExecInput('data=a:b:c')).message).toContain('--input data=a:b:c');
    expect(usageError(() => parseExecInput('data')).message).toContain('NAME=VALUE');
    expect(usageError(() => parseExecInput('=x')).message).toContain('NAME=VALUE');
    expect(usageError(() => parseExecInput('bad name=x')).message).toContain('NAME=VALUE');
  });

  it('--output NAME=DATASET[:TAG][,sync=…][,deleteSync=…][,storageProviderId=…]', () => {
    expect(parseExecOutput('ckpt=checkpoints')).toEqual({
      name: 'ckpt',
      line: 0,
      dataset: 'checkpoints',
      syncMs: DEFAULT_SYNC_MS,
      deleteSync: true,
    });
    expect(parseExecOutput('ckpt=checkpoints:best,sync=30s,deleteSync=false,storageProviderId=s3')).toEqual({
      name: 'ckpt',
      line: 0,
      dataset: 'checkpoints',
      tag: 'best',
      storageProviderId: 's3',
      syncMs: 30_000,
      deleteSync: false,
    });
    expect(parseExecOutput('o=d,sync=off').syncMs).toBeNull();
    expect(parseExecOutput('logs=l', DEFAULT_LOG_SYNC_MS).syncMs).toBe(DEFAULT_LOG_SYNC_MS);
    expect(usageError(() => parseExecOutput('o=d,sync=3 parsecs')).message).toContain('sync "3 parsecs"');
    expect(usageError(() => parseExecOutput('o=d,colour=red')).message).toContain('unknown option "colour=red"');
    expect(usageError(() => parseExecOutput('o=d,deleteSync=maybe')).message).toContain('unknown option');
    expect(usageError(() => parseExecOutput('o=a:b:c')).message).toContain('--output o=a:b:c');
    expect(usageError(() => parseExecOutput('o=d:latest')).message).toContain('--output o=d:latest');
  });
});
