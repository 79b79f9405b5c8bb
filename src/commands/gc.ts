import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../ui/base-command.js';
import { formatBytes } from '../ui/table.js';
import { collectGarbage, type GcResult } from '../services/gc.js';

export default class Gc extends StrataCommand<GcResult> {
  static override summary = 'Remove blobs no version in the bucket references';
  static override description =
    'Reads every committed manifest and every draft of an uncommitted version in the bucket (from every machine), and removes the blobs none of them references that are older than the grace period, so uploads in flight elsewhere are never collected.';
  static override examples = [
    '<%= config.bin %> gc --storageProviderId team --dry-run',
    '<%= config.bin %> gc --storageProviderId team --grace 72h',
  ];
  static override flags = {
    storageProviderId: Flags.string({ description: 'storage provider id or name', required: true }),
    'dry-run': Flags.boolean({ description: 'print what would be removed; remove nothing' }),
    grace: Flags.string({
      description: 'keep unreferenced blobs younger than this (e.g. 30m, 24h, 7d)',
      default: '24h',
    }),
  };

  protected async execute(): Promise<GcResult> {
    const { flags } = await this.parse(Gc);
    return collectGarbage(this.ctx, {
      storageProviderId: flags.storageProviderId,
      dryRun: flags['dry-run'],
      grace: flags.grace,
    });
  }

  protected render(r: GcResult): string {
    const verb = r.dryRun ? 'Would remove' : 'Removed';
    const lines = r.removed.map((b) => `  ${b.sha256}  ${formatBytes(b.size)}`);
    return [
      `${verb} ${r.removed.length} blob(s), ${formatBytes(r.removedBytes)} (${r.manifests} manifest(s) reference ${r.referenced} blob(s); ${r.keptYoung} unreferenced blob(s) kept within the grace period)`,
      ...lines,
    ].join('\n');
  }
}
