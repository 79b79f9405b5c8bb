// Issue 20: a job's output carries its provenance in its manifest, and `versions lineage` walks
// the graph of versions and runs up and down, as text, --json and Graphviz dot.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectFailure } from '../helpers/expect-cli.js';
import { committedVersion, createDataset, writeFiles } from '../helpers/fixtures.js';
import { parseJson, writeSpec, type SpecRunJson, type VersionDetailsJson } from '../helpers/jobs.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-lineage-');

beforeAll(assertBuilt);

interface LineageJson {
  root: string;
  nodes: ({ kind: 'version'; id: string; dataset: string | null } | { kind: 'run'; id: string; job: string })[];
  edges: { from: string; to: string; input?: string }[];
}

/** raw → prepare → clean → train (+ raw again) → model → evaluate → report. */
const CHAIN = [
  'jobs:',
  '  prepare:',
  '    inputs: { raw: { type: dataset, with: { ref: raw } } }',
  '    outputs: { clean: { type: dataset, with: { ref: clean } } }',
  '    run: cat "$STRATA_INPUT_RAW/a.txt" > "$STRATA_OUTPUT_CLEAN/clean.txt"',
  '  train:',
  '    inputs: { data: prepare.outputs.clean, extra: { type: dataset, with: { ref: raw } } }',
  '    outputs: { model: { type: dataset, with: { ref: model } } }',
  '    run: tr a-z A-Z < "$STRATA_INPUT_DATA/clean.txt" > "$STRATA_OUTPUT_MODEL/weights.txt"',
  '  evaluate:',
  '    inputs: { model: train.outputs.model }',
  '    outputs: { report: { type: dataset, with: { ref: report } } }',
  '    run: wc -c < "$STRATA_INPUT_MODEL/weights.txt" > "$STRATA_OUTPUT_REPORT/score.txt"',
];

async function chain(): Promise<{ o: CliOptions; raw: string; runs: Record<string, string> }> {
  const o = { home: fresh() };
  await createDataset(o, 'raw');
  const raw = await committedVersion(o, 'raw', `${writeFiles(fresh(), { 'a.txt': 'alpha\n' })}/`);
  const file = writeSpec(join(fresh(), 'chain.yaml'), ...CHAIN);
  const run = parseJson<SpecRunJson>(await strata(['jobs', 'run', '--file', file, '--json'], o));
  const runs = Object.fromEntries(run.jobs.map((j) => [j.job, 'runId' in j ? j.runId : '']));
  return { o, raw: raw.ref, runs };
}

const lineage = (o: CliOptions, ...args: string[]): Promise<LineageJson> =>
  strataJson<LineageJson>(['datasets', 'versions', 'lineage', ...args], o);

describe('versions lineage', () => {
  it('walks a three-job chain upstream and downstream, as text, --json and dot', { timeout: 120_000 }, async () => {
    const { o, raw, runs } = await chain();
    const ref = async (name: string): Promise<string> =>
      (await strataJson<VersionDetailsJson>(['datasets', 'versions', 'details', '--id', name], o)).ref;
    const [clean, model, report] = [await ref('clean'), await ref('model'), await ref('report')];

    const report_ = await strataJson<VersionDetailsJson>(['datasets', 'versions', 'details', '--id', report], o);
    expect(report_.provenance).toMatchObject({
      runId: runs.evaluate,
      job: 'evaluate',
      exitCode: 0,
      command: CHAIN[12]!.slice('    run: '.length),
      inputs: [{ name: 'model', datasetName: 'model', versionId: model.split(':')[1] }],
    });

    const up = await lineage(o, '--id', report, '--upstream');
    expect(up.root).toBe(report);
    expect(new Set(up.edges.map((e) => `${e.from} -${e.input ?? ''}-> ${e.to}`))).toEqual(
      new Set([
        `${runs.evaluate} --> ${report}`,
        `${model} -model-> ${runs.evaluate}`,
        `${runs.train} --> ${model}`,
        `${clean} -data-> ${runs.train}`,
        `${raw} -extra-> ${runs.train}`,
        `${runs.prepare} --> ${clean}`,
        `${raw} -raw-> ${runs.prepare}`,
      ]),
    );
    expect(up.nodes.find((n) => n.id === raw)).toMatchObject({ kind: 'version', dataset: 'raw' });

    // --depth counts runs: one run up from the report reaches the model, not what made it.
    const near = await lineage(o, '--id', report, '--upstream', '--depth', '1');
    expect(near.nodes.map((n) => n.id).sort()).toEqual([model, report, runs.evaluate].sort());

    const down = await lineage(o, '--id', raw, '--downstream');
    const downEdges = down.edges.map((e) => `${e.from}->${e.to}`);
    for (const edge of [`${raw}->${runs.prepare}`, `${runs.prepare}->${clean}`, `${runs.train}->${model}`])
      expect(downEdges).toContain(edge);
    expect(downEdges).toContain(`${runs.evaluate}->${report}`);

    const text = await strata(['datasets', 'versions', 'lineage', '--id', 'model'], o);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Upstream (what made it):');
    expect(text.stdout).toMatch(new RegExp(`└── run ${runs.train} · job train · exit 0`));
    expect(text.stdout).toMatch(new RegExp(`data: ${clean} \\(clean\\)`));
    expect(text.stdout).toContain('Downstream (made from it):');
    expect(text.stdout).toMatch(new RegExp(`as model: run ${runs.evaluate} · job evaluate`));
    expect(text.stdout).toContain(`${report} (report)`);

    const dot = await strata(['datasets', 'versions', 'lineage', '--id', 'model', '--format', 'dot'], o);
    expect(dot.stdout).toMatch(/^digraph lineage \{/);
    expect(dot.stdout).toContain(`"${clean}" -> "${runs.train}" [label="data"];`);
  });

  it('a version no job made has no lineage; a bad ref fails as every command does', async () => {
    const o = { home: fresh() };
    await createDataset(o, 'plain');
    const v = await committedVersion(o, 'plain', `${writeFiles(fresh(), { 'x.txt': 'x' })}/`);
    expect(await lineage(o, '--id', v.ref)).toEqual({
      root: v.ref,
      nodes: [{ kind: 'version', id: v.ref, datasetId: v.datasetId, versionId: v.id, dataset: 'plain', message: '' }],
      edges: [],
    });
    const { line } = await expectFailure(['datasets', 'versions', 'lineage', '--id', 'nope'], o, 3);
    expect(line).toMatch(/nope/);
  });
});
