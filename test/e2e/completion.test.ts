// `strata completion bash|zsh`: the script a shell sources, driven as bash drives it on <TAB>.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, expectFailure } from '../helpers/expect-cli.js';
import { ok } from '../helpers/fixtures.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-completion-');

beforeAll(assertBuilt);

/** What bash offers for the words typed so far (the last one being completed). */
function complete(script: string, words: string[]): string[] {
  const file = join(fresh(), 'completion.bash');
  writeFileSync(file, script);
  const out = execFileSync(
    'bash',
    [
      '-c',
      'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _strata_complete; printf "%s\\n" "${COMPREPLY[@]}"',
      'bash',
      file,
      'strata',
      ...words,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter((l) => l !== '');
}

const hasZsh = spawnSync('zsh', ['--version']).status === 0;

describe.concurrent('shell completion', () => {
  it('bash: topics, commands, flags, negations and the values of a fixed-set flag', async () => {
    const script = await ok(['completion', 'bash'], { home: fresh() });
    expect(complete(script, [''])).toEqual([
      'cache',
      'catalog',
      'completion',
      'config',
      'datasets',
      'gc',
      'help',
      'jobs',
      'storageProviders',
      'ui',
    ]);
    expect(complete(script, ['datasets', 'ver'])).toEqual(['versions']);
    expect(complete(script, ['datasets', 'versions', 'c'])).toEqual(['commit', 'create']);
    expect(complete(script, ['datasets', 'files', 'get', '--ta'])).toEqual(['--target-path']);
    expect(complete(script, ['datasets', 'files', 'get', '--no-'])).toEqual(['--no-cache']);
    expect(complete(script, ['datasets', 'files', 'get', '--link', 'h'])).toEqual(['hardlink']);
    expect(complete(script, ['storageProviders', 'create', ''])).toEqual(['s3']);
    // A flag's free value or an argument: nothing of ours, so bash offers file names (-o default).
    expect(complete(script, ['datasets', 'files', 'get', '--target-path', ''])).toEqual([]);
    expect(script).toContain('complete -o default -F _strata_complete strata\n');
  });

  // zsh is not part of the test machine's packages: this runs where Debian's zsh is installed.
  it.runIf(hasZsh)('zsh: the script loads through bashcompinit and registers strata', async () => {
    const file = join(fresh(), 'completion.zsh');
    writeFileSync(file, await ok(['completion', 'zsh'], { home: fresh() }));
    const out = execFileSync(
      'zsh',
      [
        '-c',
        'autoload -U +X compinit && compinit -u -d "$2"; source "$1"; print -r -- ${_comps[strata]}',
        'zsh',
        file,
        join(fresh(), 'zcompdump'),
      ],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('_bash_complete -o default -F _strata_complete');
  });

  it('an unknown shell is a usage error', async () => {
    const { line } = await expectFailure(['completion', 'fish'], { home: fresh() }, 2);
    expect(line).toMatch(/fish/);
  });
});
