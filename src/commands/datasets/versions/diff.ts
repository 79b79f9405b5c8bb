import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { table } from '../../../ui/table.js';
import { diffVersions, type DiffResult } from '../../../services/diff.js';

export default class VersionsDiff extends StrataCommand<DiffResult> {
  static override hiddenAliases = singularAliases('datasets:versions:diff');
  static override summary = 'Show added, removed, changed and renamed paths between two versions';
  static override examples = ['<%= config.bin %> datasets versions diff --id cifar10:prod --to cifar10:latest'];
  static override flags = {
    id: Flags.string({ description: 'the older ref', required: true }),
    to: Flags.string({ description: 'the newer ref', required: true }),
  };

  protected async execute(): Promise<DiffResult> {
    const { flags } = await this.parse(VersionsDiff);
    return diffVersions(this.ctx, flags);
  }

  protected render(d: DiffResult): string {
    const rows: string[][] = [
      ...d.added.map((p) => ['added', p]),
      ...d.removed.map((p) => ['removed', p]),
      ...d.changed.map((p) => ['changed', p]),
      ...d.renamed.map((r) => ['renamed', `${r.from} → ${r.to}`]),
    ];
    if (rows.length === 0) return `No differences between ${d.from} and ${d.to}`;
    return `${d.from} → ${d.to}\n${table(['Change', 'Path'], rows)}`;
  }
}
