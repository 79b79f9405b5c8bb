import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { createVersion, type VersionView } from '../../../services/versions.js';
import { createVersionFromSources, type PutResult } from '../../../services/files.js';
import { putFlags } from '../../../ui/put-flags.js';
import { putSummary } from '../../../ui/version-render.js';

type Result = VersionView & { put?: PutResult };

export default class VersionsCreate extends StrataCommand<Result> {
  static override hiddenAliases = singularAliases('datasets:versions:create');
  static override summary = 'Open a new version of a dataset';
  static override description =
    'Without --source-path the version starts empty (or with the files of --from) and stays open for `files put` until `versions commit`. With --source-path it is filled from those paths and committed at once, as Gradient does.';
  static override examples = [
    '<%= config.bin %> datasets versions create --id cifar10 --message "re-labelled"',
    '<%= config.bin %> datasets versions create --id cifar10 --source-path ./cifar-10-batches-py/',
    '<%= config.bin %> datasets versions create --id cifar10 --from cifar10:prod',
  ];
  static override flags = {
    id: Flags.string({ description: 'dataset id or name', required: true }),
    message: Flags.string({ description: 'what changed in this version' }),
    from: Flags.string({
      description: 'start from the files of this ref (DS:VERSION, DS:TAG)',
      exclusive: ['source-path'],
    }),
    ...putFlags(false),
  };

  protected async execute(): Promise<Result> {
    const { flags } = await this.parse(VersionsCreate);
    if (!flags['source-path']) return createVersion(this.ctx, flags);
    return createVersionFromSources(this.ctx, {
      id: flags.id,
      message: flags.message,
      sourcePaths: flags['source-path'],
      targetPath: flags['target-path'],
      followSymlinks: flags['follow-symlinks'],
      concurrency: flags.concurrency,
      progress: this.progress('put'),
      signal: this.signal,
    });
  }

  protected render(v: Result): string {
    return v.put
      ? `Created dataset version: ${v.ref}\n${putSummary(v.put)}\nCommitted dataset version: ${v.ref}`
      : `Created dataset version: ${v.ref}`;
  }
}
