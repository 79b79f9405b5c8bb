import * as Flags from '@oclif/core/flags';

/** The flags of every command that stores local files into a version. */
export function putFlags(required: boolean) {
  return {
    'source-path': Flags.string({
      description:
        'file or directory to store (repeatable); a directory lands under its own name, or with a trailing "/" its contents land directly under the target',
      multiple: true,
      required,
    }),
    'target-path': Flags.string({ description: 'directory in the version to put into', default: '/' }),
    'follow-symlinks': Flags.boolean({ description: 'store what symlinks point at instead of skipping them' }),
    concurrency: Flags.integer({
      description: 'uploads in flight (default 32, or concurrency in the config)',
      min: 1,
      max: 512,
    }),
  };
}
