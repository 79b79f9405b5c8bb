// The state after a chaos trial, proved: every committed version of A verifies --deep, a get of it
// equals its source byte for byte (paths, modes), A's committed versions equal their manifests in
// the bucket and a second home's view, every open version's draft equals A's catalog, the catalog
// passes SQLite's integrity check, and no temp file or unfinished multipart upload is left.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { CliOptions } from '../helpers/cli.js';
import type { FileJson, VersionJson } from '../helpers/fixtures.js';
import { readTree, type TreeEntry } from '../helpers/tree.js';
import type { Trial } from './trial.js';

export interface Findings {
  /** files a committed version should hold and does not (or that a get did not bring back) */
  lost: number;
  /** files that came back with other bytes or another mode, or a version that failed verify --deep */
  corrupt: number;
  /** versions this machine, the bucket and a second home do not agree on; drafts unlike the catalog */
  divergent: number;
  /** temp files left in targets, the cache, STRATA_HOME or the local provider */
  tempFiles: number;
  /** catalogs failing PRAGMA integrity_check, multipart uploads left open */
  other: number;
  notes: string[];
}

const TEMP = /^(\.strata-tmp-|\.tmp-|\.probe-)|^catalog\.db\.new-/;

export async function check(t: Trial, people: CliOptions[] = []): Promise<Findings> {
  const f: Findings = { lost: 0, corrupt: 0, divergent: 0, tempFiles: 0, other: 0, notes: [] };
  const note = (text: string): number => f.notes.push(text);
  const versions = await t.json<VersionJson[]>(['datasets', 'versions', 'list', '--id', 'ds']);
  const b = await t.person('checker');
  for (const v of versions) {
    if (!v.isCommitted) {
      if (t.drafts.has(v.ref)) await checkDraft(t, v, f);
      continue;
    }
    const deep = await t.run(['datasets', 'versions', 'verify', '--id', v.ref, '--deep']);
    if (deep.code !== 0) {
      f.corrupt++;
      note(`verify --deep ${v.ref}: ${deep.stderr.trim()}`);
    }
    const out = t.dir('check-get');
    const got = await t.run(['datasets', 'files', 'get', '--id', v.ref, '--target-path', out]);
    t.targets.push(out);
    const source = t.expected.get(v.ref);
    if (got.code !== 0) {
      f.lost += source ? readTree(source).length : 1;
      note(`get ${v.ref}: ${got.stderr.trim()}`);
    } else if (source) compareTrees(readTree(source), readTree(out), f, v.ref);
    else note(`${v.ref} is committed but no trial said what it holds`);
    const local = await t.json<FileJson[]>(['datasets', 'files', 'list', '--id', v.ref, '--recursive']);
    const manifest = await t.bucket
      .json<{ files: FileJson[] }>(`datasets/${v.datasetId}/versions/${v.id}.json`)
      .catch(() => ({ files: [] }));
    const theirs = await t
      .json<FileJson[]>(['datasets', 'files', 'list', '--id', v.ref, '--recursive'], b)
      .catch(() => []);
    const key = (files: { path: string; sha256?: string; size: number }[]): string =>
      JSON.stringify(files.map((x) => [x.path, x.sha256, x.size]));
    if (key(local) !== key(manifest.files) || key(local) !== key(theirs)) {
      f.divergent++;
      note(`${v.ref}: here ${local.length} files, bucket ${manifest.files.length}, second home ${theirs.length}`);
    }
  }
  for (const o of [t.a, ...people]) {
    const problems = integrity(join(o.home, 'catalog.db'));
    if (problems) {
      f.other++;
      note(`${o.home}/catalog.db: ${problems}`);
    }
  }
  const places = [t.a.home, String(t.a.env?.STRATA_CACHE_DIR), ...t.targets, ...people.map((p) => p.home)];
  for (const place of places) f.tempFiles += countTemps(place, f.notes);
  const uploads = await t.bucket.uploads();
  if (uploads.length > 0) {
    f.other += uploads.length;
    note(`open multipart uploads: ${uploads.map((u) => u.Key).join(', ')}`);
  }
  return f;
}

/** An open version's draft in the bucket names exactly the files the catalog has. */
async function checkDraft(t: Trial, v: VersionJson, f: Findings): Promise<void> {
  const local = await t.json<FileJson[]>(['datasets', 'files', 'list', '--id', v.ref, '--recursive']);
  const draft = await t.bucket
    .json<{ files: { path: string; sha256: string }[] }>(`datasets/${v.datasetId}/drafts/${v.id}.json`)
    .catch(() => ({ files: [] }));
  const key = (files: { path: string; sha256?: string }[]): string =>
    JSON.stringify(files.map((x) => [x.path, x.sha256]).sort());
  if (key(local) !== key(draft.files)) {
    f.divergent++;
    f.notes.push(`open ${v.ref}: catalog ${local.length} files, draft ${draft.files.length}`);
  }
}

export function compareTrees(want: TreeEntry[], got: TreeEntry[], f: Findings, what: string): void {
  const have = new Map(got.map((e) => [e.path, e]));
  for (const e of want) {
    const g = have.get(e.path);
    if (!g) f.lost++;
    else if (g.sha256 !== e.sha256 || g.mode !== e.mode) f.corrupt++;
  }
  const extra = got.length - want.filter((e) => have.has(e.path)).length;
  if (extra > 0) f.corrupt += extra;
  if (extra > 0 || got.length < want.length) {
    f.notes.push(`${what}: ${want.length} files wanted, ${got.length} came back`);
  }
}

function integrity(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const db = new Database(path, { readonly: true });
  try {
    const rows = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
    return rows.join() === 'ok' ? undefined : rows.slice(0, 3).join('; ');
  } catch (error) {
    return String(error);
  } finally {
    db.close();
  }
}

function countTemps(dir: string, notes: string[]): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) n += countTemps(join(dir, entry.name), notes);
    else if (TEMP.test(entry.name)) {
      n++;
      notes.push(`temp file left: ${join(dir, entry.name)}`);
    }
  }
  return n;
}
