import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { table } from '../../ui/table.js';
import { refusedError, syncCatalog, type SyncResult } from '../../services/sync.js';
import { namedRef } from '../../ui/version-render.js';

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
    if (results.length === 0) {
      return "Nothing to sync: no S3 storage provider (the local one is this machine's own). Add one with strata storageProviders create s3 or import s3.";
    }
    const counts = table(
      ['Provider', 'Datasets +/~/-', 'Versions +/-', 'Tags set/-'],
      results.map((r) => [
        `${r.providerName} (${r.providerId})`,
        `${r.datasets.added}/${r.datasets.updated}/${r.datasets.removed}`,
        `${r.versions.added}/${r.versions.removed}`,
        `${r.tags.set}/${r.tags.removed}`,
      ]),
    );
    return [counts, ...results.flatMap(versionLines)].join('\n');
  }
}

/** At most this many versions are named per provider and change; the counts say the rest. */
const SHOWN = 20;

function versionLines(r: SyncResult): string[] {
  return (['added', 'removed'] as const).flatMap((change) => {
    const named = r.versionRefs[change];
    const lines = named.slice(0, SHOWN).map((v) => `${change === 'added' ? '+' : '-'} ${namedRef(v)}`);
    if (named.length > SHOWN) lines.push(`  … and ${named.length - SHOWN} more ${change}`);
    return lines;
  });
}
