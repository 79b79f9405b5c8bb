import { StrataCommand } from '../../ui/base-command.js';
import { cacheDirFlag } from '../../ui/cache-flags.js';
import { verifyCache, type CacheVerifyResult } from '../../services/cache.js';

export default class CacheVerify extends StrataCommand<CacheVerifyResult> {
  static override summary = 'Re-hash every cached blob and drop the bad ones';
  static override examples = ['<%= config.bin %> cache verify'];
  static override flags = { 'cache-dir': cacheDirFlag };

  protected async execute(): Promise<CacheVerifyResult> {
    const { flags } = await this.parse(CacheVerify);
    return verifyCache(this.ctx, { cacheDir: flags['cache-dir'] });
  }

  protected render(r: CacheVerifyResult): string {
    return `Checked ${r.checked} blob(s) in ${r.dir}; dropped ${r.dropped.length} that no longer matched${r.dropped.length ? `: ${r.dropped.join(', ')}` : ''}`;
  }
}
