import pLimit from 'p-limit';
import type { AppContext } from './context.js';
import type { FileEntry, Provider } from '../core/model.js';
import type { StorageBackend } from '../storage/backend.js';
import { packKey, packTableKey } from '../storage/keys.js';
import { missingBlobs } from '../transfer/presence.js';
import { refreshPacks } from './packs.js';

/**
 * The files whose blob the provider does not hold, asked of the provider itself; the catalog's
 * belief about the provider learns what was found there and forgets what was not (a gc elsewhere
 * removed it), so a put of those files stores them again. A packed blob is there when its pack
 * and the pack's table are (a HEAD of each per pack, not per blob); a blob found neither loose
 * nor where the catalog believed is looked for in the bucket's pack tables before it is missing.
 */
export async function checkPresence(
  ctx: AppContext,
  provider: Provider,
  backend: StorageBackend,
  entries: readonly FileEntry[],
): Promise<FileEntry[]> {
  const { packs } = ctx.catalog;
  const byPack = new Map<string, FileEntry[]>();
  const loose: FileEntry[] = [];
  for (const e of entries) {
    const at = provider.type === 's3' ? packs.locate(provider.id, e.sha256) : undefined;
    if (at?.size !== e.size) loose.push(e);
    else if (byPack.has(at.packId)) byPack.get(at.packId)!.push(e);
    else byPack.set(at.packId, [e]);
  }
  const limit = pLimit(32);
  const gone: string[] = [];
  await Promise.all(
    [...byPack].map(([packId, files]) =>
      limit(async () => {
        const [pack, table] = await Promise.all([backend.head(packKey(packId)), backend.head(packTableKey(packId))]);
        if (pack && table) return;
        gone.push(packId);
        loose.push(...files);
      }),
    ),
  );
  if (gone.length > 0) packs.forget(provider.id, gone);
  const missing = await missingBlobs(backend, loose, (present, absent) =>
    ctx.catalog.transaction(() => {
      ctx.catalog.files.recordProviderBlobs(provider.id, present);
      ctx.catalog.files.forgetProviderBlobs(provider.id, absent);
    }),
  );
  if (missing.length === 0 || provider.type !== 's3') return missing;
  await refreshPacks(ctx, provider, backend);
  return missing.filter((f) => packs.locate(provider.id, f.sha256)?.size !== f.size);
}
