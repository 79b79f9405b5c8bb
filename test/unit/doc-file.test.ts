import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FileEntry } from '../../src/core/model.js';
import { withDocFile } from '../../src/storage/doc-file.js';
import { draftDoc, encodeDoc, manifestDoc, parseManifestDoc } from '../../src/storage/records.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'doc-file-'));
  dirs.push(d);
  return d;
};

const version = {
  datasetId: 'dst0123456789ab',
  id: 'abc1234',
  message: 'a "quoted" message, ünïcode and a \\ backslash',
  createdAt: '2024-01-01T00:00:00.000Z',
};

/** Enough files that the text is written in several chunks, with paths that JSON must escape. */
function files(n: number): FileEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    path: `d${i % 7}/naïve "file" ${String(i).padStart(6, '0')}.bin`,
    size: i * 37,
    sha256: (i % 16).toString(16).repeat(64),
    mode: i % 3 === 0 ? 0o755 : 0o644,
    mtimeMs: 1_704_067_200_000 + i,
  }));
}

/** The bytes withDocFile hands over as the body, and the body's stated size. */
async function written(dir: string, doc: { files: Iterable<FileEntry> }): Promise<{ bytes: Buffer; size: number }> {
  return withDocFile(dir, doc, async (body) => ({ bytes: readFileSync(body.file), size: body.size }));
}

describe('documents written from rows as they are read', () => {
  it.each([0, 1, 20_000])('are encodeDoc’s bytes exactly, for a manifest of %i files', async (n) => {
    const list = files(n);
    const committed = { ...version, committedAt: '2024-01-02T00:00:00.000Z' };
    const provenance = {
      runId: 'r1',
      job: 'train',
      command: 'python train.py',
      exitCode: 0,
      startedAt: '2024-01-02T00:00:00.000Z',
      endedAt: null,
      inputs: [],
    };
    // a generator, as the catalog's rows come
    const doc = manifestDoc(committed, (function* () { yield* list; })(), provenance); // prettier-ignore
    const { bytes, size } = await written(scratch(), doc);
    expect(size).toBe(bytes.length);
    expect(bytes.equals(encodeDoc(manifestDoc(committed, list, provenance)))).toBe(true);
    expect(parseManifestDoc('datasets/dst0123456789ab/versions/abc1234.json', bytes).files).toEqual(list);
  });

  it('are encodeDoc’s bytes for a draft too', async () => {
    const list = files(3);
    const doc = draftDoc(version, 'host:/home', list);
    const { bytes } = await written(scratch(), doc);
    expect(bytes.equals(encodeDoc(doc))).toBe(true);
  });

  it('leave no file behind, also when the upload fails, and sweep one a killed process left', async () => {
    const dir = scratch();
    const dead = join(dir, `doc-${hostname()}-999999999-0123abcd-1`); // a pid no process has
    writeFileSync(dead, 'left by a process killed mid-write');
    const failure = withDocFile(dir, draftDoc(version, 'o', files(2)), () => Promise.reject(new Error('network')));
    await expect(failure).rejects.toThrow('network');
    expect(readdirSync(dir)).toEqual([]);
  });
});
