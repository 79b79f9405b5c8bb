import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../../ui/base-command.js';
import { singularAliases } from '../../../ui/aliases.js';
import { setTag, type TagView } from '../../../services/tags.js';

export default class TagsSet extends StrataCommand<TagView> {
  static override hiddenAliases = singularAliases('datasets:tags:set');
  static override summary = 'Point a tag at a committed version (creates or moves it)';
  static override examples = [
    '<%= config.bin %> datasets tags set --id cifar10:k3j9x0a --name prod',
    '<%= config.bin %> datasets tags set --id cifar10:latest --name prod',
    '<%= config.bin %> datasets tags set --id cifar10:prod --name stable',
  ];
  static override flags = {
    id: Flags.string({ description: 'ref of a committed version: DATASET[:VERSION|:TAG|:latest]', required: true }),
    name: Flags.string({ description: 'tag: letters, digits, ".", "_", "-" ("latest" is reserved)', required: true }),
  };

  protected async execute(): Promise<TagView> {
    const { flags } = await this.parse(TagsSet);
    return setTag(this.ctx, flags);
  }

  protected render(t: TagView): string {
    return `Set tag ${t.name}: ${t.ref}`;
  }
}
