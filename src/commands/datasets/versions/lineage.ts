import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { lineageDot, lineageText } from '../../../ui/lineage-render.js';
import { lineage, type Lineage } from '../../../services/lineage.js';

export default class VersionsLineage extends StrataCommand<Lineage> {
  static override hiddenAliases = singularAliases('datasets:versions:lineage');
  static override summary = 'Show the versions and job runs a version came from, and what was made from it';
  static override description =
    "Upstream: the run that made the version and the exact inputs it read, and so on; downstream: the runs that read it and the versions they made. From the provenance in each version's manifest, so a teammate who synced the bucket sees the same graph.";
  static override examples = [
    '<%= config.bin %> datasets versions lineage --id model:candidate',
    '<%= config.bin %> datasets versions lineage --id raw:latest --downstream --depth 2',
    '<%= config.bin %> datasets versions lineage --id model:latest --format dot | dot -Tsvg > lineage.svg',
  ];
  static override flags = {
    id: Flags.string({ description: 'ref: DATASET[:VERSION|:TAG|:latest]', required: true }),
    upstream: Flags.boolean({ description: 'only what made it', exclusive: ['downstream'] }),
    downstream: Flags.boolean({ description: 'only what was made from it', exclusive: ['upstream'] }),
    depth: Flags.integer({ description: 'runs away from the version at most', min: 1, default: 100 }),
    format: Flags.string({
      description: 'text: indented trees; dot: Graphviz',
      options: ['text', 'dot'],
      default: 'text',
    }),
  };

  private show = { upstream: true, downstream: true };
  private format = 'text';

  protected async execute(): Promise<Lineage> {
    const { flags } = await this.parse(VersionsLineage);
    this.show = { upstream: !flags.downstream, downstream: !flags.upstream };
    this.format = flags.format;
    return lineage(this.ctx, flags.id, { ...this.show, depth: flags.depth });
  }

  protected render(graph: Lineage): string {
    return this.format === 'dot' ? lineageDot(graph) : lineageText(graph, this.show);
  }
}
