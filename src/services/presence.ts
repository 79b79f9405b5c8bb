import type { AppContext } from './context.js';
import type { FileEntry, Provider } from '../core/model.js';
import type { StorageBackend } from '../storage/backend.js';
import { missingBlobs } from '../transfer/presence.js';

/**
 * The files whose blob the provider does not hold, asked of the provider itself; the catalog's
 * belief about the provider learns what was found there and forgets what was not (a gc elsewhere
 * removed it), so a put of those files stores them again.
 */
export function checkPresence(
  ctx: AppContext,
  provider: Provider,
  backend: StorageBackend,
  entries: readonly FileEntry[],
): Promise<FileEntry[]> {
  return missingBlobs(backend, entries, (present, absent) =>
    ctx.catalog.transaction(() => {
      ctx.catalog.files.recordProviderBlobs(provider.id, present);
      ctx.catalog.files.forgetProviderBlobs(provider.id, absent);
    }),
  );
}
