import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

describe('docs/commands.md', () => {
  it('matches the commands the build generates (regenerate: node scripts/command-docs.js)', () => {
    expect(() =>
      execFileSync(process.execPath, ['scripts/command-docs.js', '--check'], { cwd: root, stdio: 'pipe' }),
    ).not.toThrow();
  });
});
