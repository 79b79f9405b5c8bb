import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { cacheDirFlag } from '../../ui/cache-flags.js';
import { formatBytes } from '../../ui/table.js';
import { parseSize } from '../../core/config.js';
import { pruneCache } from '../../services/cache.js';

type Result = Awaited<ReturnType<typeof pruneCache>>;

export default class CachePrune extends StrataCommand<Result> {
  static override summary = 'Evict least-recently-used blobs until the cache fits its cap';
  static override description = 'Blobs a running materialization holds are never evicted.';
  static override examples = ['<%= config.bin %> cache prune', '<%= config.bin %> cache prune --max-size 20GiB'];
  static override flags = {
    'cache-dir': cacheDirFlag,
    'max-size': Flags.string({
      description: 'cap for this prune (default: config cache.maxSize; 0 empties the cache)',
    }),
  };

  protected async execute(): Promise<Result> {
    const { flags } = await this.parse(CachePrune);
    const max = flags['max-size'] === undefined ? undefined : parseSize(flags['max-size']);
    return pruneCache(this.ctx, { cacheDir: flags['cache-dir'], maxSize: max });
  }

  protected render(r: Result): string {
    const kept = r.keptInUse ? `; kept ${r.keptInUse} in use` : '';
    return `Evicted ${r.removedBlobs} blob(s), ${formatBytes(r.removedBytes)}; cache now ${r.blobs} blob(s), ${formatBytes(r.size)}${kept}`;
  }
}
