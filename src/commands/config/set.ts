import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { StrataCommand } from '../../ui/base-command.js';
import { setConfig, type ConfigEntry } from '../../services/config.js';

export default class ConfigSet extends StrataCommand<ConfigEntry> {
  static override summary = 'Change a setting (or remove it with --unset)';
  static override examples = [
    '<%= config.bin %> config set cache.dir /mnt/team-cache/strata',
    '<%= config.bin %> config set cache.maxSize 200GiB',
    '<%= config.bin %> config set cache.maxSize --unset',
  ];
  static override args = {
    key: Args.string({ description: 'setting name', required: true }),
    value: Args.string({ description: 'new value' }),
  };
  static override flags = { unset: Flags.boolean({ description: 'remove the setting' }) };

  protected async execute(): Promise<ConfigEntry> {
    const { args, flags } = await this.parse(ConfigSet);
    if (!flags.unset && args.value === undefined) this.error('give a value, or --unset', { exit: 2 });
    return setConfig(this.ctx, args.key, flags.unset ? undefined : args.value);
  }

  protected render(e: ConfigEntry): string {
    return e.value === null ? `Unset ${e.key}` : `Set ${e.key} = ${e.value}`;
  }
}
