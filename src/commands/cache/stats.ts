import { StrataCommand } from '../../ui/base-command.js';
import { cacheDirFlag } from '../../ui/cache-flags.js';
import { details, formatBytes } from '../../ui/table.js';
import { cacheStats, type CacheStatsResult } from '../../services/cache.js';

export default class CacheStats extends StrataCommand<CacheStatsResult> {
  static override summary = 'Show the team cache: size, blobs, hits and misses';
  static override examples = [
    '<%= config.bin %> cache stats',
    '<%= config.bin %> cache stats --cache-dir /mnt/team-cache --json',
  ];
  static override flags = { 'cache-dir': cacheDirFlag };

  protected async execute(): Promise<CacheStatsResult> {
    const { flags } = await this.parse(CacheStats);
    return cacheStats(this.ctx, { cacheDir: flags['cache-dir'] });
  }

  protected render(s: CacheStatsResult): string {
    const lookups = s.hits + s.misses;
    return details([
      ['Directory', s.dir],
      ['Size', formatBytes(s.size)],
      ['Cap', s.maxSize === null ? 'none' : formatBytes(s.maxSize)],
      ['Blobs', s.blobs],
      ['Pack files', s.packFiles],
      ['Hits', `${s.hits}${lookups ? ` (${((100 * s.hits) / lookups).toFixed(1)}%)` : ''}`],
      ['Misses', s.misses],
      ['Held by running materializations', s.inUse],
      ['Partial downloads of killed gets, removed', s.removedTemps],
    ]);
  }
}
