import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { putFlags } from '../../../ui/put-flags.js';
import { putSummary } from '../../../ui/version-render.js';
import {
  DEFAULT_EXPANSION_FLOOR_MIB,
  DEFAULT_MAX_EXPANSION,
  putIntoVersion,
  type PutResult,
} from '../../../services/files.js';
import { UsageError } from '../../../core/errors.js';

export default class FilesPut extends StrataCommand<PutResult> {
  static override hiddenAliases = singularAliases('datasets:files:put');
  static override summary = 'Store files into an uncommitted version';
  static override description =
    'Each distinct content is stored once per storage provider: what the provider already holds is not uploaded again. A file enters the version as soon as its content is stored, so running an interrupted put again finishes it. Empty directories are not recorded (object stores have none).';
  static override examples = [
    '<%= config.bin %> datasets files put --id cifar10:k3j9x0a --source-path ./data/',
    '<%= config.bin %> datasets files put --id cifar10:k3j9x0a --source-path labels.csv --source-path images --target-path /train',
    '<%= config.bin %> datasets files put --id cifar10:k3j9x0a --source-url https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz --extract',
  ];
  static override flags = {
    id: Flags.string({ description: 'DATASET:VERSION (uncommitted)', required: true }),
    ...putFlags(false),
    'source-url': Flags.string({
      description: 'an http(s) URL to store (streamed; the file is named after the URL path)',
      exclusive: ['source-path'],
    }),
    extract: Flags.boolean({
      description:
        'with --source-url: unpack a .tar, .tar.gz or .zip into the version (entries escaping the target are refused)',
      dependsOn: ['source-url'],
    }),
    'max-expansion': Flags.integer({
      description: `with --extract: refuse an archive that unpacks to more than this many times its size, as a decompression bomb does (default ${DEFAULT_MAX_EXPANSION}; up to ${DEFAULT_EXPANSION_FLOOR_MIB} MiB any archive may unpack)`,
      min: 1,
      dependsOn: ['extract'],
    }),
  };

  protected async execute(): Promise<PutResult> {
    const { flags } = await this.parse(FilesPut);
    if (!flags['source-path'] && !flags['source-url'])
      throw new UsageError('give --source-path (repeatable) or --source-url');
    return putIntoVersion(this.ctx, {
      id: flags.id,
      sourcePaths: flags['source-path'] ?? [],
      sourceUrl: flags['source-url'],
      extract: flags.extract,
      maxExpansion: flags['max-expansion'],
      targetPath: flags['target-path'],
      followSymlinks: flags['follow-symlinks'],
      concurrency: flags.concurrency,
      progress: this.progress('put'),
      signal: this.signal,
    });
  }

  protected render(r: PutResult): string {
    return putSummary(r);
  }
}
