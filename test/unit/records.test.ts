import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../src/core/errors.js';
import type { FileEntry } from '../../src/core/model.js';
import {
  datasetDoc,
  encodeDoc,
  manifestDoc,
  parseDatasetDoc,
  parseManifestDoc,
  parseTagDoc,
  tagDoc,
} from '../../src/storage/records.js';

const DS = 'dst0123456789ab';
const KEY = `datasets/${DS}/versions/abc1234.json`;
const SHA = 'a'.repeat(64);

const file = (over: Partial<FileEntry> = {}): FileEntry => ({
  path: 'train/x.bin',
  size: 10,
  sha256: SHA,
  mode: 0o644,
  mtimeMs: 1_704_067_200_123,
  ...over,
});

const manifest = (files: unknown[], over: Record<string, unknown> = {}): Buffer =>
  Buffer.from(
    JSON.stringify({
      format: 'strata.manifest/1',
      datasetId: DS,
      versionId: 'abc1234',
      message: 'first',
      createdAt: '2024-01-01T00:00:00.000Z',
      committedAt: '2024-01-01T00:00:01.000Z',
      files,
      ...over,
    }),
  );

function refused(parse: () => unknown): IntegrityError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as IntegrityError).code).toBe('EBADRECORD');
    expect((error as IntegrityError).exitCode).toBe(5);
    return error as IntegrityError;
  }
  throw new Error('expected the record to be refused');
}

describe('manifest documents', () => {
  it('round-trip through encodeDoc and parseManifestDoc', () => {
    const files = [file(), file({ path: 'run.sh', mode: 0o755, size: 0, sha256: 'e'.repeat(64) })];
    const version = {
      datasetId: DS,
      id: 'abc1234',
      message: 'm',
      createdAt: '2024-01-01T00:00:00.000Z',
      committedAt: '2024-01-02T00:00:00.000Z',
    };
    const doc = manifestDoc(version, files);
    expect(parseManifestDoc(KEY, encodeDoc(doc))).toEqual(doc);
    expect(doc.format).toBe('strata.manifest/1');
  });

  it.each([
    ['../escape.txt', '".." segment'],
    ['/abs.txt', 'absolute path'],
    ['a/../../b', '".." segment'],
    ['a//b', 'empty path segment'],
    ['', 'empty path'],
    ['a\\b', 'backslash'],
  ])('refuses the file path %j', (path, problem) => {
    const error = refused(() => parseManifestDoc(KEY, manifest([file(), file({ path })])));
    expect(error.message).toContain(KEY);
    expect(error.message).toContain(problem);
  });

  it('refuses a path that appears twice', () => {
    expect(refused(() => parseManifestDoc(KEY, manifest([file(), file()]))).message).toContain('appears twice');
  });

  it.each([
    ['a short sha256', { sha256: 'abc' }],
    ['an uppercase sha256', { sha256: 'A'.repeat(64) }],
    ['a negative size', { size: -1 }],
    ['a fractional size', { size: 1.5 }],
    ['a size given as text', { size: '10' }],
    ['a mode beyond 0o7777', { mode: 0o10000 }],
    ['a negative mode', { mode: -1 }],
    ['an mtime given as text', { mtimeMs: 'yesterday' }],
    ['no mtime', { mtimeMs: undefined }],
    ['no path', { path: undefined }],
    ['a numeric path', { path: 7 }],
  ])('refuses a file with %s', (_what, over) => {
    refused(() => parseManifestDoc(KEY, manifest([{ ...file(), ...over }])));
  });

  it.each([
    ['not JSON', Buffer.from('{"format":')],
    ['a JSON array', Buffer.from('[]')],
    ['JSON null', Buffer.from('null')],
    ['another format', manifest([], { format: 'strata.manifest/2' })],
    ['a tag document', Buffer.from(JSON.stringify({ format: 'strata.tag/1' }))],
    ['files that are not a list', manifest([], { files: { 'a.txt': {} } })],
    ['a file that is not an object', manifest(['a.txt'])],
    ['a file that is null', manifest([null])],
    ['a bad dataset id', manifest([], { datasetId: 'dst-not-an-id' })],
    ['a bad version id', manifest([], { versionId: 'ABC1234' })],
    ['no committedAt', manifest([], { committedAt: undefined })],
    ['a numeric message', manifest([], { message: 3 })],
  ])('refuses %s', (_what, bytes) => {
    expect(refused(() => parseManifestDoc(KEY, bytes)).message).toContain(`refusing ${KEY}`);
  });
});

describe('dataset and tag documents', () => {
  const dataset = {
    id: DS,
    name: 'cifar10',
    description: 'CIFAR',
    storageProviderId: 'spl0123456789ab',
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
  };

  it('round-trip', () => {
    const d = datasetDoc(dataset);
    expect(parseDatasetDoc('k', encodeDoc(d))).toEqual(d);
    const t = tagDoc({ datasetId: DS, name: 'prod', versionId: 'abc1234', updatedAt: '2024-01-01T00:00:00.000Z' });
    expect(parseTagDoc('k', encodeDoc(t))).toEqual(t);
  });

  it('a dataset document carries no provider (the bucket it sits in is the provider)', () => {
    expect(Object.keys(datasetDoc(dataset)).sort()).toEqual([
      'createdAt',
      'description',
      'format',
      'id',
      'name',
      'updatedAt',
    ]);
  });

  it.each([
    ['a name with a slash', { name: 'bad/name' }],
    ['a bad id', { id: 'dst1' }],
    ['another format', { format: 'strata.tag/1' }],
    ['no description', { description: undefined }],
  ])('a dataset document with %s is refused', (_what, over) => {
    const bytes = Buffer.from(JSON.stringify({ ...datasetDoc(dataset), ...over }));
    refused(() => parseDatasetDoc('datasets/x/dataset.json', bytes));
  });

  it.each([
    ['a tag name with "="', { name: 'x=y' }],
    ['a version id too long', { versionId: 'abc12345' }],
    ['a bad dataset id', { datasetId: '../../x' }],
    ['another format', { format: 'strata.dataset/1' }],
  ])('a tag document with %s is refused', (_what, over) => {
    const t = tagDoc({ datasetId: DS, name: 'prod', versionId: 'abc1234', updatedAt: '2024-01-01T00:00:00.000Z' });
    refused(() => parseTagDoc('datasets/x/tags/prod.json', Buffer.from(JSON.stringify({ ...t, ...over }))));
  });
});
