import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { deleteTag, type TagView } from '../../../services/tags.js';

export default class TagsDelete extends StrataCommand<TagView> {
  static override hiddenAliases = singularAliases('datasets:tags:delete');
  static override summary = 'Delete a tag (the version stays)';
  static override examples = ['<%= config.bin %> datasets tags delete --id cifar10:prod'];
  static override flags = {
    id: Flags.string({ description: 'DATASET:TAG', required: true }),
  };

  protected async execute(): Promise<TagView> {
    const { flags } = await this.parse(TagsDelete);
    return deleteTag(this.ctx, flags);
  }

  protected render(t: TagView): string {
    return `Deleted tag: ${t.name}`;
  }
}
