import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { commitVersion, type CommitResult } from '../../../services/commit.js';

export default class VersionsCommit extends StrataCommand<CommitResult> {
  static override hiddenAliases = singularAliases('datasets:versions:commit');
  static override summary = 'Commit a version: it never changes again';
  static override description =
    'Checks that every file has its blob in the storage provider, writes the manifest to the bucket once, and seals the version. It waits for no put: a put still writing into the version makes it fail (exit 4), and so does a put that did not finish, unless --allow-incomplete. A version someone else is committing at the same moment is committed once; the second commit says it already is (exit 0).';
  static override examples = [
    '<%= config.bin %> datasets versions commit --id cifar10:k3j9x0a',
    '<%= config.bin %> datasets versions commit --id cifar10:k3j9x0a --allow-incomplete',
  ];
  static override flags = {
    id: Flags.string({ description: 'DATASET:VERSION', required: true }),
    'allow-incomplete': Flags.boolean({
      description: 'commit what is stored even though the last put into the version did not finish',
    }),
  };

  protected async execute(): Promise<CommitResult> {
    const { flags } = await this.parse(VersionsCommit);
    return commitVersion(this.ctx, flags.id, { allowIncomplete: flags['allow-incomplete'] });
  }

  protected render(v: CommitResult): string {
    if (v.alreadyCommitted) return `Dataset version ${v.ref} was already committed (at ${v.committedAt})`;
    return `Committed dataset version: ${v.ref}`;
  }
}
