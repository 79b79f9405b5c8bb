import * as Flags from '@oclif/core/flags';

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

/**
 * What both job commands pass the runner from their flags. A job's own stdout goes to ours,
 * except under --json, where stdout carries only the result.
 */
export function runnerOptions(
  flags: { isolation: 'auto' | 'none'; offline: boolean; 'cache-dir'?: string },
  json: boolean,
  signal: AbortSignal,
) {
  return {
    isolation: flags.isolation,
    offline: flags.offline,
    cacheDir: flags['cache-dir'],
    stdout: json ? process.stderr : process.stdout,
    stderr: process.stderr,
    signal,
  };
}
