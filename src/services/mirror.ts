import type { AppContext } from './context.js';
import { listedSources, planSources } from '../transfer/walk.js';
import type { PutSummary } from '../transfer/put.js';
import { storeSources } from './files.js';
import { writeDraft } from './drafts.js';
import type { Resolved } from './resolve.js';
import { assertIdle } from './version-claims.js';

export interface MirrorResult extends PutSummary {
  /** files the version held that the directory no longer does */
  removed: number;
}

/**
 * Makes an uncommitted version hold what a directory holds: new and changed files (by size,
 * mtime and mode; unchanged ones are not even read) are stored, and with deleteMissing the files
 * gone from the directory leave the version. Used for job outputs while they are written.
 */
export async function mirrorDirectory(
  ctx: AppContext,
  { dataset, version }: Resolved,
  dir: string,
  options: { deleteMissing: boolean; warned?: Set<string>; signal?: AbortSignal },
): Promise<MirrorResult> {
  const warned = options.warned ?? new Set<string>();
  // A job's outputs: the whole listing is compared with the version's files anyway.
  const sources = [
    ...planSources([`${dir}/`], '', {
      warn: (message) => {
        if (!warned.has(message)) ctx.reporter.warn(message);
        warned.add(message);
      },
    }).files,
  ];
  const { files } = ctx.catalog;
  const existing = new Map(files.list(dataset.id, version.id).map((f) => [f.path, f]));
  const changed = sources.filter((s) => {
    const e = existing.get(s.path);
    return !e || e.size !== s.size || e.mtimeMs !== s.mtimeMs || e.mode !== s.mode;
  });
  const summary =
    changed.length > 0
      ? await storeSources(ctx, { dataset, version }, listedSources(changed), { signal: options.signal })
      : { ref: `${dataset.id}:${version.id}`, files: 0, bytes: 0, bytesUploaded: 0, bytesSkipped: 0, seconds: 0 };
  let removed = 0;
  if (options.deleteMissing) {
    const present = new Set(sources.map((s) => s.path));
    const gone = [...existing.keys()].filter((p) => !present.has(p));
    ctx.catalog.transaction(() => {
      assertIdle(ctx, { dataset, version });
      for (const path of gone) removed += files.deleteUnder(dataset.id, version.id, path);
    });
  }
  if (removed > 0) await writeDraft(ctx, dataset, version.id);
  return { ...summary, removed };
}
