import * as Args from '@oclif/core/args';
import { StrataCommand } from '../../ui/base-command.js';
import { getConfig, type ConfigEntry } from '../../services/config.js';

export default class ConfigGet extends StrataCommand<ConfigEntry> {
  static override summary = 'Print one setting';
  static override examples = ['<%= config.bin %> config get cache.dir'];
  static override args = { key: Args.string({ description: 'setting name', required: true }) };

  protected async execute(): Promise<ConfigEntry> {
    const { args } = await this.parse(ConfigGet);
    return getConfig(this.ctx, args.key);
  }

  protected render(e: ConfigEntry): string {
    return e.value ?? '';
  }
}
