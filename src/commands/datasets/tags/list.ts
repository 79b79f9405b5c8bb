import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { table } from '../../../ui/table.js';
import { listTags, type TagView } from '../../../services/tags.js';

export default class TagsList extends StrataCommand<TagView[]> {
  static override hiddenAliases = singularAliases('datasets:tags:list');
  static override summary = 'List the tags of a dataset';
  static override examples = ['<%= config.bin %> datasets tags list --id cifar10'];
  static override flags = {
    id: Flags.string({ description: 'dataset id or name', required: true }),
  };

  protected async execute(): Promise<TagView[]> {
    const { flags } = await this.parse(TagsList);
    return listTags(this.ctx, flags);
  }

  protected render(tags: TagView[]): string {
    return table(
      ['Name', 'Version', 'Updated'],
      tags.map((t) => [t.name, t.ref, t.updatedAt]),
    );
  }
}
