import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, type CliResult } from '../helpers/cli.js';
import { assertBuilt, ROOT } from '../helpers/expect-cli.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-help-');

beforeAll(assertBuilt);

interface Topic {
  description: string;
  subtopics?: Record<string, Topic>;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  oclif: { topics: Record<string, Topic> };
};
const manifest = JSON.parse(readFileSync(join(ROOT, '.oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, { id: string; summary?: string; hidden?: boolean }>;
};

function topicsOf(topics: Record<string, Topic>, prefix: string[] = []): [string[], string][] {
  return Object.entries(topics).flatMap(([name, t]) => [
    [[...prefix, name], t.description] as [string[], string],
    ...topicsOf(t.subtopics ?? {}, [...prefix, name]),
  ]);
}

// `strata help help` is oclif's root help, as it is with @oclif/plugin-help: "help" is never a subject.
const commands = Object.values(manifest.commands)
  .filter((c) => !c.hidden && c.id !== 'help')
  .map((c) => [c.id.split(':'), c.summary ?? ''] as [string[], string]);
const topics = topicsOf(pkg.oclif.topics);

async function help(args: string[]): Promise<CliResult> {
  const r = await strata(args, { home: fresh() });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return r;
}

/** The help of a topic or command, the same page whichever way it is asked for. */
async function helpPage(path: string[]): Promise<string> {
  const pages = await Promise.all(
    [
      ['help', ...path],
      [...path, '--help'],
      [...path, '-h'],
    ].map(help),
  );
  expect(new Set(pages.map((r) => r.stdout)).size).toBe(1);
  return pages[0]!.stdout;
}

describe.concurrent('help', () => {
  it('strata help and strata -h list the topics', async () => {
    for (const args of [['help'], ['-h'], ['--help']]) {
      const r = await help(args);
      expect(r.stdout).toContain('USAGE\n  $ strata [COMMAND]');
      for (const [[name], description] of topics.filter(([path]) => path.length === 1)) {
        const start = description.slice(0, 30).replace(/[$.]/g, '\\$&');
        expect(r.stdout).toMatch(new RegExp(`\\n  ${name} +${start}`));
      }
    }
  });

  it.each(topics.map(([path, description]) => ({ topic: path.join(' '), path, description })))(
    'topic $topic: help, --help and -h show its own description',
    async ({ path, description }) => {
      const page = await helpPage(path);
      expect(page.split('\n')[0]).toBe(description);
      expect(page).toContain(`USAGE\n  $ strata ${path.join(' ')} COMMAND`);
    },
  );

  it.each(commands.map(([path, summary]) => ({ command: path.join(' '), path, summary })))(
    'command $command: help, --help and -h show its usage',
    async ({ path, summary }) => {
      const page = await helpPage(path);
      expect(page).toContain(summary.split('\n')[0]);
      expect(page).toContain(`USAGE\n  $ strata ${path.join(' ')}`);
    },
  );
});
