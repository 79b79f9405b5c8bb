import * as Args from '@oclif/core/args';
import { StrataCommand } from '../ui/base-command.js';
import { completionScript, SHELLS, type Shell } from '../ui/completion.js';

interface Completion {
  shell: Shell;
  script: string;
}

export default class CompletionCommand extends StrataCommand<Completion> {
  static override summary = 'Print the shell completion script for bash or zsh';
  static override description =
    'Commands, flags and the values of flags with a fixed set complete on <TAB>. Load it in each new shell from your ~/.bashrc or ~/.zshrc: source <(strata completion bash).';
  static override examples = [
    'source <(<%= config.bin %> completion bash)   # in ~/.bashrc',
    'source <(<%= config.bin %> completion zsh)    # in ~/.zshrc, after compinit',
  ];
  static override args = {
    shell: Args.string({ description: 'the shell', options: [...SHELLS], required: true }),
  };

  protected async execute(): Promise<Completion> {
    const { args } = await this.parse(CompletionCommand);
    const shell = args.shell as Shell;
    return { shell, script: completionScript(shell, this.config.bin, this.config.commands) };
  }

  protected render(c: Completion): string {
    return c.script.trimEnd();
  }
}
