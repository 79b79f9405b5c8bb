import { Flags } from '@oclif/core';

export const jobFlags = {
  isolation: Flags.option({
    options: ['auto', 'none'] as const,
    default: 'auto' as const,
    description:
      'auto: mount namespaces with /inputs and /outputs where the machine allows it (root); none: a run directory and STRATA_* paths',
  })(),
  offline: Flags.boolean({ description: 'resolve input refs from this catalog alone, without asking the bucket' }),
  'cache-dir': Flags.string({ description: 'team cache directory' }),
};
