import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { deleteProvider, type ProviderView } from '../../services/providers.js';

export default class StorageProvidersDelete extends StrataCommand<ProviderView> {
  static override summary = 'Forget a storage provider (refused while a dataset uses it; the bucket is left as it is)';
  static override examples = ['<%= config.bin %> storageProviders delete --id team'];
  static override flags = {
    id: Flags.string({ description: 'storage provider id or name', required: true }),
  };

  protected async execute(): Promise<ProviderView> {
    const { flags } = await this.parse(StorageProvidersDelete);
    return deleteProvider(this.ctx, flags.id);
  }

  protected render(p: ProviderView): string {
    return `Deleted storage provider: ${p.id}`;
  }
}
