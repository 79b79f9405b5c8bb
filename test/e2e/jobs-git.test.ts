// Git inputs of jobs (docs/jobs.md): a branch, tag or commit of a remote cloned into the input,
// read-only, the commit recorded; hostile remotes refused before anything runs. The remote is a
// local bare repository made with Debian's git.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions, type CliResult } from '../helpers/cli.js';
import { assertBuilt, expectFailure } from '../helpers/expect-cli.js';
import { writeFiles } from '../helpers/fixtures.js';
import { parseJson, writeSpec, type RunDetailsJson, type SpecRunJson } from '../helpers/jobs.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';

const fresh = tempDirs('strata-jobs-git-');

beforeAll(assertBuilt);

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

interface Repo {
  bare: string;
  v1: string;
  v2: string;
  dev: string;
}

/** A bare repository: main at v2 (v1 tagged, an executable script), and a branch dev. */
function makeRepo(): Repo {
  const base = fresh();
  const bare = join(base, 'repo.git');
  const work = join(base, 'work');
  git(base, 'init', '-q', '--bare', '-b', 'main', bare);
  git(base, 'clone', '-q', bare, work);
  writeFiles(work, { 'README.md': 'version one\n', 'tools/prep.sh': '#!/bin/sh\necho prepared\n' });
  chmodSync(join(work, 'tools/prep.sh'), 0o755);
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'one');
  git(work, 'tag', '-a', 'v1', '-m', 'first release');
  const v1 = git(work, 'rev-parse', 'HEAD');
  writeFiles(work, { 'README.md': 'version two\n' });
  git(work, 'commit', '-q', '-am', 'two');
  const v2 = git(work, 'rev-parse', 'HEAD');
  git(work, 'checkout', '-q', '-b', 'dev');
  writeFiles(work, { 'README.md': 'in development\n' });
  git(work, 'commit', '-q', '-am', 'dev');
  const dev = git(work, 'rev-parse', 'HEAD');
  git(work, 'push', '-q', 'origin', 'main', 'dev', 'v1');
  return { bare, v1, v2, dev };
}

const run = (o: CliOptions, spec: string, ...flags: string[]): Promise<CliResult> =>
  strata(['jobs', 'run', '--file', spec, '--json', ...flags], o);

describe.concurrent('git inputs', () => {
  it('a tag, a branch, the default branch and a commit id, each at its commit, read-only, without .git', async () => {
    const repo = makeRepo();
    const o = { home: fresh() };
    const spec = writeSpec(
      join(fresh(), 'spec.yaml'),
      'jobs:',
      '  build:',
      '    inputs:',
      `      tagged: { type: git, with: { url: "${repo.bare}", ref: v1 } }`,
      `      dev: { type: git, with: { url: "file://${repo.bare}", ref: dev } }`,
      `      tip: { type: git, with: { url: "${repo.bare}" } }`,
      `      pinned: { type: git, with: { url: "${repo.bare}", ref: ${repo.v1.slice(0, 10)} } }`,
      '    outputs:',
      '      out: { type: dataset, with: { ref: built } }',
      '    run: |',
      '      for i in TAGGED DEV TIP PINNED; do eval "cat \\"\\$STRATA_INPUT_$i/README.md\\""; done > "$STRATA_OUTPUT_OUT/readmes"',
      '      "$STRATA_INPUT_TAGGED/tools/prep.sh" > "$STRATA_OUTPUT_OUT/prep"',
      '      ls -A "$STRATA_INPUT_TAGGED" > "$STRATA_OUTPUT_OUT/listing"',
      '      (echo x >> "$STRATA_INPUT_TIP/README.md") 2>/dev/null && echo writable > "$STRATA_OUTPUT_OUT/rw" || echo read-only > "$STRATA_OUTPUT_OUT/rw"',
    );
    const first = await run(o, spec);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: expect.any(String) as string });
    expect(first.stderr).toContain('cloning');
    const result = parseJson<SpecRunJson>(first).jobs[0] as { runId: string; outputs: { ref: string }[] };

    const target = join(fresh(), 'got');
    await strataJson(['datasets', 'files', 'get', '--id', result.outputs[0]!.ref, '--target-path', target], o);
    const read = (name: string): string => readFileSync(join(target, name), 'utf8');
    expect(read('readmes')).toBe('version one\nin development\nversion two\nversion one\n');
    expect(read('prep')).toBe('prepared\n');
    expect(read('listing')).toBe('README.md\ntools\n');
    expect(read('rw')).toBe('read-only\n');

    const details = await strataJson<RunDetailsJson>(['jobs', 'details', '--id', result.runId], o);
    expect(details.inputs.map((i) => ({ name: i.name, url: i.url, commit: i.commit }))).toEqual([
      { name: 'dev', url: `file://${repo.bare}`, commit: repo.dev },
      { name: 'pinned', url: repo.bare, commit: repo.v1 },
      { name: 'tagged', url: repo.bare, commit: repo.v1 },
      { name: 'tip', url: repo.bare, commit: repo.v2 },
    ]);
    const text = await strata(['jobs', 'details', '--id', result.runId], o);
    expect(text.stdout).toContain(`tagged: ${repo.bare} at ${repo.v1}`);

    // A second run: what a branch or tag names now is asked of the remote; the files come from the cache.
    const second = await run(o, spec);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr.match(/cloning/g)).toEqual(['cloning']); // only the short commit id needs a clone
  });

  it('refused before anything runs: ext:: remotes, uses: git-checkout@v1; a missing ref or remote is not found (3)', async () => {
    const repo = makeRepo();
    const o = { home: fresh() };
    const pwned = join(fresh(), 'pwned');
    const specWith = (input: string): string =>
      writeSpec(
        join(fresh(), 'spec.yaml'),
        'jobs:',
        '  a:',
        '    inputs:',
        `      code: ${input}`,
        '    outputs:',
        '      out: { type: dataset, with: { ref: built } }',
        '    run: "true"',
      );
    const ext = await expectFailure(
      ['jobs', 'run', '--file', specWith(`{ type: git, with: { url: "ext::sh -c touch% ${pwned}" } }`)],
      o,
      2,
    );
    expect(ext.error.code).toBe('ESPEC');
    expect(ext.line).toContain('ext::… run commands and are refused');
    expect(existsSync(pwned)).toBe(false);

    const uses = writeSpec(
      join(fresh(), 'spec.yaml'),
      'jobs:',
      '  a:',
      '    uses: git-checkout@v1',
      `    with: { url: "${repo.bare}" }`,
    );
    const refused = await strata(['jobs', 'run', '--file', uses], o);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({
      code: 2,
      stderr: expect.stringMatching(/^Error: .*:3: job a: "uses: git-checkout@v1" .*type: git.*\n$/) as string,
    });

    const noRef = await run(o, specWith(`{ type: git, with: { url: "${repo.bare}", ref: no-such-branch } }`));
    expect(noRef.code, noRef.stderr).toBe(3);
    expect(parseJson<{ error: { code: string; message: string } }>(noRef).error).toEqual({
      code: 'ENOREF',
      message: `no branch, tag or commit "no-such-branch" in ${repo.bare}`,
    });
    const noRemote = await run(o, specWith(`{ type: git, with: { url: "${join(fresh(), 'gone.git')}" } }`));
    expect(noRemote.code, noRemote.stderr).toBe(3);
    expect(parseJson<{ error: { code: string; message: string } }>(noRemote).error).toMatchObject({
      code: 'ENOSOURCE',
      message: expect.stringContaining('cannot read git remote') as string,
    });
    // Nothing ran: no output version was made, and no clone is left in the cache.
    const versions = await strata(['datasets', 'versions', 'list', '--id', 'built', '--json'], o);
    expect(versions.code === 3 || (JSON.parse(versions.stdout) as unknown[]).length === 0).toBe(true);
    expect(readTree(join(o.home, 'cache')).filter((f) => f.path.startsWith('tmp/'))).toEqual([]);
  });
});
