import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { rebuildCatalog, type RebuildResult } from '../../services/rebuild.js';

export default class CatalogRebuild extends StrataCommand<RebuildResult> {
  static override summary = 'Rebuild a damaged catalog from the buckets, keeping the damaged file aside';
  static override description =
    "The bucket (or the local provider's directory) is the record; the catalog is this machine's index of it. The damaged catalog.db is renamed aside and never written; the storage providers it still has readable are carried over with their credentials; every provider is synced (datasets, committed versions, tags), and the uncommitted versions this machine had drafted are opened again. A sound catalog is rebuilt only with --force.";
  static override examples = ['<%= config.bin %> catalog rebuild', '<%= config.bin %> catalog rebuild --force'];
  static override flags = {
    force: Flags.boolean({ description: 'rebuild even though the catalog passes its checks' }),
  };

  protected async execute(): Promise<RebuildResult> {
    const { flags } = await this.parse(CatalogRebuild);
    return rebuildCatalog(this.ctx, flags);
  }

  protected render(r: RebuildResult): string {
    const count = (f: (s: RebuildResult['sync'][number]) => number): number => r.sync.reduce((n, s) => n + f(s), 0);
    const refused = r.sync.flatMap((s) => s.refused);
    return [
      `Rebuilt ${r.catalog}${r.keptAside ? ` (the old one is kept at ${r.keptAside})` : ''}`,
      `Storage providers carried over: ${r.providers.map((p) => p.name).join(', ') || 'none'}`,
      `Restored ${count((s) => s.datasets.added)} dataset(s), ${count((s) => s.versions.added)} committed version(s), ${count((s) => s.tags.set)} tag(s); reopened ${r.reopened.length} uncommitted version(s) from their drafts`,
      ...refused.map((x) => `Refused ${x.key}: ${x.reason}`),
      'Not brought back:',
      ...r.notRestored.map((n) => `  - ${n}`),
    ].join('\n');
  }
}
