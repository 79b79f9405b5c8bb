import * as Flags from '@oclif/core/flags';

export const cacheDirFlag = Flags.string({
  description: 'team cache directory (default: $STRATA_CACHE_DIR, config cache.dir, or $STRATA_HOME/cache)',
});
