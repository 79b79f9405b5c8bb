import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { table } from '../../ui/table.js';
import { refusedError, syncCatalog, type SyncResult } from '../../services/sync.js';

export default class CatalogSync extends StrataCommand<SyncResult[]> {
  static override summary = "Bring the catalog up to date with the buckets' datasets, versions and tags";
  static override description =
    'The bucket is the shared record; this catalog is a local index of it. New datasets, versions and tags appear, moved tags move, deleted ones go. A document in the bucket that fails its checks is refused and named, and the command exits with the integrity code (5) after applying the rest.';
  static override examples = [
    '<%= config.bin %> catalog sync',
    '<%= config.bin %> catalog sync --storageProviderId team',
  ];
  static override flags = {
    storageProviderId: Flags.string({
      description: 'only this storage provider (id or name); default: every S3 provider',
    }),
  };

  protected async execute(): Promise<SyncResult[]> {
    const { flags } = await this.parse(CatalogSync);
    const results = await syncCatalog(this.ctx, flags);
    const refused = refusedError(results);
    if (refused) throw refused;
    return results;
  }

  protected render(results: SyncResult[]): string {
    return table(
      ['Provider', 'Datasets +/~/-', 'Versions +/-', 'Tags set/-'],
      results.map((r) => [
        r.providerId,
        `${r.datasets.added}/${r.datasets.updated}/${r.datasets.removed}`,
        `${r.versions.added}/${r.versions.removed}`,
        `${r.tags.set}/${r.tags.removed}`,
      ]),
    );
  }
}
