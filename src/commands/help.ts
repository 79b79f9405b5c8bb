import * as Args from '@oclif/core/args';
import { Command } from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';
import { loadHelpClass } from '@oclif/core/help';

/**
 * `strata help [COMMAND...]`: oclif's help command, in the bundle. Loaded as @oclif/plugin-help it
 * came through import(), which a script started from V8's code cache cannot make (bin/run.cjs).
 */
export default class Help extends Command {
  static override summary = 'Display help for strata, a topic or a command';
  static override examples = [
    '<%= config.bin %> help',
    '<%= config.bin %> help datasets versions',
    '<%= config.bin %> help datasets files put',
  ];
  static override args = {
    command: Args.string({ description: 'the topic or command to show help for', required: false }),
  };
  static override flags = {
    'nested-commands': Flags.boolean({ char: 'n', description: 'include all nested commands' }),
  };
  static override strict = false;

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Help);
    const HelpClass = await loadHelpClass(this.config);
    await new HelpClass(this.config, { all: flags['nested-commands'] }).showHelp(argv as string[]);
  }
}
