import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { s3Flags } from '../../../ui/s3-flags.js';
import { updateS3Provider, type ProviderView } from '../../../services/providers.js';

export default class StorageProvidersUpdateS3 extends StrataCommand<ProviderView> {
  static override summary = 'Change an S3 storage provider (any field; checked again unless --no-verify)';
  static override examples = [
    '<%= config.bin %> storageProviders update s3 --id team --accessKey AKIA… --secretAccessKey …',
    '<%= config.bin %> storageProviders update s3 --id splabc123def456 --endpoint https://s3.new-site.example',
  ];
  static override flags = {
    id: Flags.string({ description: 'storage provider id or name', required: true }),
    ...s3Flags(false),
  };

  protected async execute(): Promise<ProviderView> {
    const { flags } = await this.parse(StorageProvidersUpdateS3);
    const { id, ...input } = flags;
    return updateS3Provider(this.ctx, id, input);
  }

  protected render(p: ProviderView): string {
    return `Updated storage provider: ${p.id}`;
  }
}
