import { StrataCommand } from '../../ui/base-command.js';
import { table } from '../../ui/table.js';
import { listConfig, type ConfigEntry } from '../../services/config.js';

export default class ConfigList extends StrataCommand<ConfigEntry[]> {
  static override summary = 'List settings ($STRATA_HOME/config.json)';
  static override examples = ['<%= config.bin %> config list'];

  protected async execute(): Promise<ConfigEntry[]> {
    await this.parse(ConfigList);
    return listConfig(this.ctx);
  }

  protected render(entries: ConfigEntry[]): string {
    return table(
      ['Key', 'Value', 'Meaning'],
      entries.map((e) => [e.key, e.value ?? '(not set)', e.description]),
    );
  }
}
