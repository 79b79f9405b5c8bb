// Two people (two STRATA_HOMEs) on one bucket, for the team suites (test/s3/team-*.s3.test.ts):
// the bucket is their shared record, each catalog a local index of it (docs/teams.md).
import { expect } from 'vitest';
import { strata, strataJson, type CliOptions, type CliResult } from './cli.js';
import type { DatasetJson, TagJson, VersionJson } from './fixtures.js';
import { createS3ProviderArgs, TestBucket } from './s3-bucket.js';
import type { S3ServerInfo } from './s3-server.js';

export interface Team {
  bucket: TestBucket;
  /** the first person: made the provider on the empty bucket */
  a: CliOptions;
  /** the second: a fresh STRATA_HOME, not yet attached to the bucket */
  b: CliOptions;
}

/** `storageProviders create s3` or `import s3` (the same flags) for this server and bucket. */
export function providerArgs(
  verb: 'create' | 'import',
  s3: S3ServerInfo,
  bucket: string,
  name = 'team',
  flags: string[] = [],
): string[] {
  const args = createS3ProviderArgs(s3, bucket, name, { flags });
  args[1] = verb;
  return args;
}

/** A fresh bucket, A with an S3 provider `team` on it (made with these flags), B a fresh home. */
export async function team(s3: S3ServerInfo, label: string, home: () => string, flags: string[] = []): Promise<Team> {
  const bucket = await TestBucket.create(s3, label);
  const a: CliOptions = { home: home() };
  const b: CliOptions = { home: home() };
  await strataJson(providerArgs('create', s3, bucket.name, 'team', flags), a);
  return { bucket, a, b };
}

export interface ImportJson {
  provider: { id: string; name: string; type: string };
  sync: SyncJson;
}

export interface SyncJson {
  providerId: string;
  providerName: string;
  datasets: { added: number; updated: number; removed: number };
  versions: { added: number; removed: number };
  versionRefs: { added: { ref: string; dataset: string }[]; removed: { ref: string; dataset: string }[] };
  tags: { set: number; removed: number };
  refused: { key: string; reason: string }[];
}

export const createDataset = (o: CliOptions, name: string): Promise<DatasetJson> =>
  strataJson<DatasetJson>(['datasets', 'create', '--name', name, '--storageProviderId', 'team'], o);

/** A committed version holding the files of dir (its contents at the version's root). */
export const committed = (o: CliOptions, dataset: string, dir: string): Promise<VersionJson> =>
  strataJson<VersionJson>(['datasets', 'versions', 'create', '--id', dataset, '--source-path', `${dir}/`], o);

export const setTag = (o: CliOptions, ref: string, name: string): Promise<TagJson> =>
  strataJson<TagJson>(['datasets', 'tags', 'set', '--id', ref, '--name', name], o);

export const getFiles = (o: CliOptions, ref: string, target: string, ...flags: string[]): Promise<CliResult> =>
  strata(['datasets', 'files', 'get', '--id', ref, '--target-path', target, ...flags], o);

/** `files get`, expecting success. */
export async function getOk(o: CliOptions, ref: string, target: string, ...flags: string[]): Promise<void> {
  const r = await getFiles(o, ref, target, ...flags, '--json');
  expect(r.code, `files get --id ${ref} ${flags.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
}

/** What a person sees of the catalog, as JSON: datasets (without the local provider id), versions and tags. */
export async function catalogView(o: CliOptions): Promise<{
  datasets: Omit<DatasetJson, 'storageProviderId'>[];
  versions: Record<string, VersionJson[]>;
  tags: Record<string, TagJson[]>;
}> {
  const datasets = await strataJson<DatasetJson[]>(['datasets', 'list'], o);
  const versions: Record<string, VersionJson[]> = {};
  const tags: Record<string, TagJson[]> = {};
  await Promise.all(
    datasets.flatMap((d) => [
      strataJson<VersionJson[]>(['datasets', 'versions', 'list', '--id', d.id], o).then((v) => (versions[d.name] = v)),
      strataJson<TagJson[]>(['datasets', 'tags', 'list', '--id', d.id], o).then((t) => (tags[d.name] = t)),
    ]),
  );
  // Provider ids are local to each catalog; everything else is the bucket's.
  return { datasets: datasets.map(({ storageProviderId: _, ...rest }) => rest), versions, tags };
}

/** A's and B's views, read at the same time (each is a few processes). */
export async function expectSameView(a: CliOptions, b: CliOptions): Promise<Awaited<ReturnType<typeof catalogView>>> {
  const [va, vb] = await Promise.all([catalogView(a), catalogView(b)]);
  expect(vb).toEqual(va);
  return vb;
}

/** A test on a fresh bucket (A with dataset `ds` on it, B a fresh home), the bucket removed after it. */
export const onTeamBucket =
  (s3: S3ServerInfo, home: () => string) =>
  (label: string, test: (t: Team) => Promise<void>) =>
  async (): Promise<void> => {
    const t = await team(s3, label, home);
    try {
      await createDataset(t.a, 'ds');
      await test(t);
    } finally {
      await t.bucket.destroy();
    }
  };
