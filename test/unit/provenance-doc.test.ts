import { describe, expect, it } from 'vitest';
import { parseProvenance } from '../../src/storage/provenance-doc.js';

const good = {
  runId: 'runabcdefabcdef',
  job: 'train',
  command: 'python train.py \\\n  --epochs 3',
  exitCode: 0,
  startedAt: '2026-12-05T10:00:00.000Z',
  endedAt: '2026-12-05T10:05:00.000Z',
  inputs: [
    { name: 'data', datasetId: 'dstabcdefabcdef', datasetName: 'clean', versionId: 'abc1234', url: null, commit: null },
    { name: 'code', datasetId: null, datasetName: null, versionId: null, url: 'https://h/x.git', commit: 'deadbeef' },
  ],
};

describe('provenance read from a manifest', () => {
  it('keeps a well-formed one, a multi-line command included; absent is nothing', () => {
    expect(parseProvenance(good)).toEqual({ provenance: good });
    expect(parseProvenance(undefined)).toEqual({});
  });

  it('shows URLs without credentials or query, whatever the document holds', () => {
    const input = { ...good.inputs[1], url: 'https://user:secret@h/w.bin?X-Amz-Signature=abc', commit: null };
    const { provenance } = parseProvenance({ ...good, inputs: [input] });
    expect(provenance?.inputs[0]?.url).toBe('https://h/w.bin?…');
  });

  it.each([
    ['not an object', 'x', 'provenance is not an object'],
    ['a run id of another shape', { ...good, runId: 'run1' }, 'bad "runId"'],
    ['a terminal escape in the job', { ...good, job: 'a\u001b[2J' }, 'bad "job"'],
    ['a NUL in the command', { ...good, command: 'a\u0000b' }, 'bad "command"'],
    ['a time that is not one', { ...good, startedAt: 'yesterday' }, 'bad "startedAt"'],
    ['an exit code that is not an integer', { ...good, exitCode: 1.5 }, 'bad "exitCode"'],
    ['inputs that are not a list', { ...good, inputs: {} }, '"inputs" is not a list of inputs'],
    ['too many inputs', { ...good, inputs: Array(1001).fill(good.inputs[0]) }, '"inputs" is not a list of inputs'],
    [
      'an input naming nothing',
      { ...good, inputs: [{ name: 'x' }] },
      'input #0 names neither a dataset version nor a URL',
    ],
    [
      'an input naming a dataset without a version',
      { ...good, inputs: [{ name: 'x', datasetId: 'dstabcdefabcdef' }] },
      'input #0 names neither a dataset version nor a URL',
    ],
    [
      'a dataset name that is a path',
      { ...good, inputs: [{ ...good.inputs[0], datasetName: '../x' }] },
      'bad "input #0 datasetName"',
    ],
  ])('drops %s, saying why', (_, value, why) => {
    expect(parseProvenance(value)).toEqual({ dropped: why });
  });
});
