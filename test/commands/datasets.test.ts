import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import type DatasetsCreateType from '../../src/commands/datasets/create.js';
import type DatasetsListType from '../../src/commands/datasets/list.js';
import type VersionsCreateType from '../../src/commands/datasets/versions/create.js';
import type TagsSetType from '../../src/commands/datasets/tags/set.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { writeFiles, type DatasetJson, type VersionJson } from '../helpers/fixtures.js';
import { tempDirs } from '../helpers/temp.js';

/** The project root: oclif reads package.json and the manifest there. */
const root = resolve(import.meta.dirname, '../..');
const fresh = tempDirs('strata-cmd-');

/** A command class from the BUILT bundle (so oclif finds its config), typed by its source. */
async function command<T>(id: string): Promise<T> {
  const url = pathToFileURL(join(root, 'dist/cli.cjs')).href;
  return ((await import(url)) as { COMMANDS: Record<string, T> }).COMMANDS[id]!;
}

let DatasetsCreate: typeof DatasetsCreateType;
let DatasetsList: typeof DatasetsListType;
let VersionsCreate: typeof VersionsCreateType;
let TagsSet: typeof TagsSetType;

beforeAll(async () => {
  assertBuilt();
  DatasetsCreate = await command('datasets:create');
  DatasetsList = await command('datasets:list');
  VersionsCreate = await command('datasets:versions:create');
  TagsSet = await command('datasets:tags:set');
});

let stdout: string;
let stdoutSpy: MockInstance;
const savedHome = process.env.STRATA_HOME;

beforeEach(() => {
  process.env.STRATA_HOME = fresh();
  stdout = '';
  stdoutSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
});

afterEach(() => {
  stdoutSpy.mockRestore();
  process.exitCode = undefined;
  if (savedHome === undefined) delete process.env.STRATA_HOME;
  else process.env.STRATA_HOME = savedHome;
});

/** What the last command printed on stdout, parsed; then forget it. */
function takeJson<T>(): T {
  const parsed = JSON.parse(stdout) as T;
  stdout = '';
  return parsed;
}

describe('datasets commands, in-process', () => {
  it('datasets create --json returns and prints the dataset, on the local provider', async () => {
    const result = await DatasetsCreate.run(['--name', 'x', '--description', 'in process', '--json'], root);
    const printed = takeJson<DatasetJson>();
    expect(printed).toEqual(result);
    expect(printed).toMatchObject({ name: 'x', description: 'in process', storageProviderName: 'local' });
    expect(printed.id).toMatch(/^dst[a-z0-9]{12}$/);
    expect(process.exitCode ?? 0).toBe(0);

    await DatasetsList.run(['--json'], root);
    expect(takeJson<DatasetJson[]>()).toEqual([printed]);
  });

  it('a taken name sets exit code 4 and prints only the JSON error', async () => {
    await DatasetsCreate.run(['--name', 'x', '--json'], root);
    takeJson();
    const result = await DatasetsCreate.run(['--name', 'x', '--json'], root);
    expect(result).toBeUndefined();
    expect(process.exitCode).toBe(4);
    expect(takeJson()).toEqual({ error: { code: 'ENAMETAKEN', message: expect.stringContaining('"x"') as string } });
  });

  it('a bad name sets exit code 2', async () => {
    await DatasetsCreate.run(['--name', 'bad/name', '--json'], root);
    expect(process.exitCode).toBe(2);
    expect(takeJson<{ error: { code: string } }>().error.code).toBe('ENAME');
  });

  it('without --json, prints the Gradient line and the table', async () => {
    await DatasetsCreate.run(['--name', 'x'], root);
    expect(stdout).toMatch(/^Created dataset: dst[a-z0-9]{12}\n$/);
    stdout = '';
    await DatasetsList.run([], root);
    expect(stdout).toMatch(/Name\s*│\s*ID\s*│\s*Storage Provider/);
    expect(stdout).toMatch(/│ x\s*│ dst[a-z0-9]{12} │ local/);
  });

  it('versions create --source-path, then tags set on it, in one process', async () => {
    await DatasetsCreate.run(['--name', 'x', '--json'], root);
    takeJson();
    const src = writeFiles(fresh(), { 'a.txt': 'a', 'b/c.txt': 'c' });
    await VersionsCreate.run(['--id', 'x', '--source-path', `${src}/`, '--json'], root);
    const v = takeJson<VersionJson & { put: { files: number } }>();
    expect(v).toMatchObject({ isCommitted: true, fileCount: 2, put: { files: 2 } });
    await TagsSet.run(['--id', v.ref, '--name', 'prod', '--json'], root);
    expect(takeJson()).toMatchObject({ name: 'prod', versionId: v.id });
    expect(process.exitCode ?? 0).toBe(0);

    await TagsSet.run(['--id', v.ref, '--name', 'latest', '--json'], root);
    expect(process.exitCode).toBe(2);
  });
});
