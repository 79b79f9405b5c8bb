import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { formatBytes } from '../../../ui/table.js';
import { verifyVersion, type VerifyResult } from '../../../services/verify.js';

export default class VersionsVerify extends StrataCommand<VerifyResult> {
  static override hiddenAliases = singularAliases('datasets:versions:verify');
  static override summary = 'Check every blob of a version is in its storage provider';
  static override description =
    'With --deep, every blob is downloaded and re-hashed. A problem exits with the integrity code (5) and names the files.';
  static override examples = [
    '<%= config.bin %> datasets versions verify --id cifar10:prod',
    '<%= config.bin %> datasets versions verify --id cifar10:prod --deep',
  ];
  static override flags = {
    id: Flags.string({ description: 'ref: DATASET[:VERSION|:TAG|:latest]', required: true }),
    deep: Flags.boolean({ description: 'download and re-hash every blob' }),
    concurrency: Flags.integer({ description: 'downloads in flight with --deep', min: 1, max: 512 }),
  };

  protected async execute(): Promise<VerifyResult> {
    const { flags } = await this.parse(VersionsVerify);
    return verifyVersion(this.ctx, { ...flags, signal: this.signal });
  }

  protected render(r: VerifyResult): string {
    return `Verified ${r.ref}: ${r.files} file(s), ${r.blobs} blob(s), ${formatBytes(r.bytes)}${r.deep ? ', every byte re-hashed' : ', every blob present'}`;
  }
}
