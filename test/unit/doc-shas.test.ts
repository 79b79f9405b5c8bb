import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FileEntry } from '../../src/core/model.js';
import { FileShaScanner } from '../../src/storage/doc-shas.js';
import { draftDoc, encodeDoc, manifestDoc, parseManifestDoc } from '../../src/storage/records.js';

const KEY = 'datasets/dst0123456789ab/versions/abc1234.json';
const MANIFEST = 'strata.manifest/1';
const sha = (i: number): string => createHash('sha256').update(String(i)).digest('hex');

const version = {
  datasetId: 'dst0123456789ab',
  id: 'abc1234',
  message: 'a "quoted" message, ünïcode, a \\ backslash and {"files":[]} in text',
  createdAt: '2024-01-01T00:00:00.000Z',
  committedAt: '2024-01-02T00:00:00.000Z',
};

/** Paths JSON must escape, or that look like the document's own structure. */
function files(n: number): FileEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    path: `d${i % 7}/naïve "file" ${i} {"sha256":"${'0'.repeat(64)}"}\t.bin`,
    size: i * 37,
    sha256: sha(i),
    mode: 0o644,
    mtimeMs: 1_704_067_200_000 + i,
  }));
}

/** The sha256s the scanner finds in `bytes`, fed `step` bytes at a time. */
function scan(bytes: Buffer, step: number, format = MANIFEST): string[] {
  const scanner = new FileShaScanner(KEY, format);
  const found: string[] = [];
  for (let at = 0; at < bytes.length; at += step) found.push(...scanner.push(bytes.subarray(at, at + step)));
  scanner.end();
  return found;
}

const refused = (text: string, format = MANIFEST): string => {
  try {
    scan(Buffer.from(text), 5, format);
  } catch (error) {
    return (error as Error).message;
  }
  return 'accepted';
};

describe('FileShaScanner (gc reading a large manifest as it streams)', () => {
  it('finds exactly the sha256s the whole-document parse does, however the bytes are cut', () => {
    const list = files(300);
    const manifest = encodeDoc(manifestDoc(version, list));
    const want = parseManifestDoc(KEY, manifest).files.map((f) => f.sha256);
    for (const step of [1, 3, 64, 4096, manifest.length]) expect(scan(manifest, step)).toEqual(want);
    const draft = encodeDoc(draftDoc(version, 'me@host', list));
    expect(scan(draft, 7, 'strata.draft/1')).toEqual(want);
    expect(scan(Buffer.from(JSON.stringify(JSON.parse(manifest.toString()), null, 2)), 11)).toEqual(want);
  });

  it('reads escaped keys and values as JSON.parse does, and names a sha256 given twice both times', () => {
    const [a, b] = [sha(1), sha(2)];
    const escaped = `{"format":"strata.manifest/1","files":[{"path":"x","sh\\u0061256":"${a.slice(0, 63)}\\u00${a.slice(63).charCodeAt(0).toString(16)}"}]}`;
    expect(JSON.parse(escaped).files[0].sha256).toBe(a);
    expect(scan(Buffer.from(escaped), 2)).toEqual([a]);
    const twice = `{"format":"strata.manifest/1","files":[{"sha256":"${a}","sha256":"${b}","deeper":{"sha256":"x"}}]}`;
    expect(scan(Buffer.from(twice), 3)).toEqual([a, b]);
  });

  it('refuses what the whole-document parse refuses, naming the record', () => {
    const ok = `"files":[{"path":"p","sha256":"${sha(1)}","size":1}]`;
    expect(refused(`{"format":"strata.manifest/1",${ok}}`)).toBe('accepted');
    expect(refused(`{"format":"strata.manifest/1",${ok}`)).toMatch(
      /^refusing datasets\/.*abc1234\.json: not valid JSON \(it ends early\)/,
    );
    expect(refused(`{"format":"strata.draft/1",${ok}}`)).toMatch(/format is not strata.manifest\/1/);
    expect(refused(`{${ok}}`)).toMatch(/format is not/);
    expect(refused(`{"format":"strata.manifest/1","files":{}}`)).toMatch(/"files" is not a list/);
    expect(refused(`{"format":"strata.manifest/1"}`)).toMatch(/"files" is not a list/);
    expect(refused(`{"format":"strata.manifest/1","files":[{"path":"p"}]}`)).toMatch(/file #0 has no "sha256"/);
    expect(refused(`{"format":"strata.manifest/1","files":[{"sha256":"abc"}]}`)).toMatch(/file #0 has a bad "sha256"/);
    expect(refused(`{"format":"strata.manifest/1","files":[{"sha256":7}]}`)).toMatch(/bad "sha256"/);
    expect(refused(`{"format":"strata.manifest/1","files":["x"]}`)).toMatch(/file #0 is not an object/);
    expect(refused(`{"format":"strata.manifest/1",${ok}} {}`)).toMatch(/more after the document/);
    expect(refused(`["format"]`)).toMatch(/not a JSON object/);
    expect(refused(`{"format":"strata.manifest/1",${ok},}`)).toMatch(/not valid JSON/);
    expect(refused(`{"format":"strata.manifest/1" ${ok}}`)).toMatch(/no comma/);
    expect(refused(`{"format":"strata.manifest/1",${ok.replace('"size":1', '"size":01')}}`)).toMatch(/bad number/);
  });

  it('never names fewer blobs than the document does, whatever single byte is damaged', () => {
    const original = encodeDoc(manifestDoc(version, files(20)));
    const all = new Set(parseManifestDoc(KEY, original).files.map((f) => f.sha256));
    let accepted = 0;
    for (let at = 0; at < original.length; at++) {
      for (const flip of [0x01, 0x20, 0x80]) {
        const damaged = Buffer.from(original);
        damaged.writeUInt8(damaged.readUInt8(at) ^ flip, at);
        let found: Set<string>;
        try {
          found = new Set(scan(damaged, 97));
        } catch {
          continue; // refused: gc stops, nothing removed
        }
        accepted++;
        let named = all;
        try {
          const files: unknown = JSON.parse(damaged.toString('utf8')).files;
          named = new Set(
            (files as { sha256?: unknown }[]).map((f) => f.sha256).filter((s) => typeof s === 'string') as string[],
          );
        } catch {
          // JSON.parse refuses a bad escape in a path the scan does not read: the files are the original's
        }
        for (const s of named) expect(found.has(s), `byte ${at} ^ ${flip}: ${s} missed`).toBe(true);
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});
