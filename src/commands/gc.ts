import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../ui/base-command.js';
import { formatBytes } from '../ui/table.js';
import { collectGarbage, DEFAULT_DRAFT_EXPIRY, DEFAULT_GRACE, type GcResult } from '../services/gc.js';

export default class Gc extends StrataCommand<GcResult> {
  static override summary = 'Remove blobs no version in the bucket references';
  static override description =
    'Announces itself in the bucket (gc/state.json), then reads every committed manifest and every draft of an uncommitted version (from every machine), and removes the blobs none of them references that are older than the grace period. Puts and commits elsewhere that overlap it check their blobs again, so none loses a blob to it. Drafts of versions since committed, and drafts not rewritten within --draft-expiry (abandoned versions), are removed and keep nothing.';
  static override examples = [
    '<%= config.bin %> gc --storageProviderId team --dry-run',
    '<%= config.bin %> gc --storageProviderId team --grace 72h',
  ];
  static override flags = {
    storageProviderId: Flags.string({ description: 'storage provider id or name', required: true }),
    'dry-run': Flags.boolean({ description: 'print what would be removed; remove nothing' }),
    grace: Flags.string({
      description: 'keep unreferenced blobs younger than this (e.g. 30m, 24h, 7d); at least 1h is recommended',
      default: DEFAULT_GRACE,
    }),
    'draft-expiry': Flags.string({
      description: 'a draft not rewritten for this long is abandoned: its blobs are not kept',
      default: DEFAULT_DRAFT_EXPIRY,
    }),
  };

  protected async execute(): Promise<GcResult> {
    const { flags } = await this.parse(Gc);
    return collectGarbage(this.ctx, {
      storageProviderId: flags.storageProviderId,
      dryRun: flags['dry-run'],
      grace: flags.grace,
      draftExpiry: flags['draft-expiry'],
    });
  }

  protected render(r: GcResult): string {
    const verb = r.dryRun ? 'Would remove' : 'Removed';
    const lines = r.removed.map((b) => `  ${b.sha256}  ${formatBytes(b.size)}`);
    return [
      `${verb} ${r.removed.length} blob(s), ${formatBytes(r.removedBytes)} (${r.manifests} manifest(s) and ${r.drafts} draft(s) reference ${r.referenced} blob(s); ${r.keptYoung} unreferenced blob(s) kept within the grace period)`,
      ...lines,
      ...(r.packs.removed + r.packs.repacked > 0
        ? [
            `${verb} ${r.packs.removed} pack(s), ${formatBytes(r.packs.removedBytes)}; ${r.dryRun ? 'would repack' : 'repacked'} ${r.packs.repacked} (${formatBytes(r.packs.rewrittenBytes)} of live blobs into new packs; the old ones go in a gc after the grace period)`,
          ]
        : []),
      ...(r.staleDrafts.length > 0
        ? [`${verb} ${r.staleDrafts.length} stale draft(s):`, ...r.staleDrafts.map((k) => `  ${k}`)]
        : []),
    ].join('\n');
  }
}
