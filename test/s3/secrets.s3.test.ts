// Invariant 6: secrets are never printed and never logged. The server's real secret key is the
// sentinel (with a second, wrong one): across a whole series of commands, successes and failures,
// tables and --json, neither appears on stdout, on stderr, in a file under $STRATA_HOME other than
// the catalog (0600), nor in the bucket.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, type CliOptions, type CliResult } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { writeFiles } from '../helpers/fixtures.js';
import { createS3ProviderArgs, TestBucket } from '../helpers/s3-bucket.js';
import { tempDirs } from '../helpers/temp.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-s3-secrets-');
const WRONG = 'SENTINEL-wrong-secret-123456';
/** Room for a loaded 2-core machine (CI runs beside other work); typically a fraction of it. */
const SLOW = 150_000;

/** Every regular file under root, as paths relative to it. */
function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.push(relative(root, path));
    }
  };
  walk(root);
  return out.sort();
}

describe.skipIf(!s3)('secrets on Ceph RGW', () => {
  let bucket: TestBucket;
  beforeAll(async () => {
    assertBuilt();
    bucket = await TestBucket.create(s3!, 'secrets');
  });
  afterAll(() => bucket?.destroy());

  it(
    'no command prints a secret, details masks it, no file but the 0600 catalog holds it',
    async () => {
      const secret = s3!.secretKey;
      const sentinels = [secret, WRONG];
      const o: CliOptions = { home: fresh() };
      const seen: { args: string[]; result: CliResult }[] = [];
      /** Runs a command and keeps what it printed. */
      const once = async (args: string[], options: CliOptions = o): Promise<CliResult> => {
        const result = await strata(args, options);
        seen.push({ args, result });
        return result;
      };
      /** Runs a command that changes nothing, plain and with --json at once; returns both. */
      const both = (args: string[]): Promise<[CliResult, CliResult]> =>
        Promise.all([once(args), once([...args, '--json'])]);

      // What changes state runs one command at a time. A provider with the real secret on the
      // command line (plain and --json) and from the environment (plain and --json).
      expect((await once(createS3ProviderArgs(s3!, bucket.name, 'ceph'))).code).toBe(0);
      expect((await once([...createS3ProviderArgs(s3!, bucket.name, 'ceph-json'), '--json'])).code).toBe(0);
      const fromEnv = (name: string): string[] => [
        ...['storageProviders', 'create', 's3', '--name', name, '--bucket', bucket.name],
        ...['--endpoint', s3!.endpoint, '--accessKey', s3!.accessKey],
      ];
      const envOptions = { ...o, env: { STRATA_S3_SECRET_ACCESS_KEY: secret } };
      expect((await once(fromEnv('ceph-env'), envOptions)).code).toBe(0);
      expect((await once([...fromEnv('ceph-env2'), '--json'], envOptions)).code).toBe(0);
      // A provider recorded unchecked, with the wrong secret.
      const unchecked = createS3ProviderArgs(s3!, bucket.name, 'unchecked', {
        secretKey: WRONG,
        flags: ['--no-verify'],
      });
      expect((await once(unchecked)).code).toBe(0);
      // Work on the provider: what a day with it prints.
      expect((await once(['datasets', 'create', '--name', 'demo', '--storageProviderId', 'ceph'])).code).toBe(0);
      const src = writeFiles(fresh(), { 'a.txt': 'a', 'dir/b.txt': 'b' });
      const version = ['datasets', 'versions', 'create', '--id', 'demo', '--source-path', src];
      expect((await once(version)).code).toBe(0);
      expect((await once([...version, '--json'])).code).toBe(0);

      // Reads, and failures that change nothing, all at once: a wrong secret on create and on
      // update, usage errors with the secret in argv, the unchecked provider's use, a closed port.
      const masked = `${secret.slice(0, 2)}****${secret.slice(-2)}`;
      const [details, detailsJson] = await both(['storageProviders', 'details', '--id', 'ceph']);
      const results = await Promise.all([
        both(['storageProviders', 'details', '--id', 'ceph-env']),
        both(['storageProviders', 'details', '--id', 'unchecked']),
        both(['storageProviders', 'list']),
        both(['datasets', 'versions', 'list', '--id', 'demo']),
        both(['datasets', 'files', 'get', '--id', 'demo', '--target-path', fresh()]),
        both(createS3ProviderArgs(s3!, bucket.name, 'wrong', { secretKey: WRONG })),
        both(['storageProviders', 'update', 's3', '--id', 'ceph', '--secretAccessKey', WRONG]),
        both(createS3ProviderArgs(s3!, bucket.name, 'v2', { flags: ['--signatureVersion', 'v2'] })),
        both(createS3ProviderArgs(s3!, bucket.name, 'bad-flag', { flags: ['--bogus'] })),
        both(['datasets', 'create', '--name', 'nope', '--storageProviderId', 'unchecked']),
        both(createS3ProviderArgs(s3!, bucket.name, 'closed', { endpoint: 'http://127.0.0.1:1' })),
      ]);
      expect(details.stdout).toContain(masked);
      expect((JSON.parse(detailsJson.stdout) as { config: { secretAccessKey: string } }).config.secretAccessKey).toBe(
        masked,
      );
      expect(results.map(([plain, json]) => [plain.code, json.code])).toEqual([
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
        [6, 6],
        [6, 6],
        [2, 2],
        [2, 2],
        [6, 6],
        [6, 6],
      ]);
      expect(results[0]![0].stdout).toContain(masked);
      expect(results[1]![0].stdout).toContain('SE****56');
      // The wrong secret was not stored: the provider still works with the right one.
      expect((await once(['datasets', 'create', '--name', 'still', '--storageProviderId', 'ceph'])).code).toBe(0);

      expect(seen.length).toBeGreaterThan(25);
      for (const { args, result } of seen) {
        for (const sentinel of sentinels) {
          expect(result.stdout, `stdout of ${args.slice(0, 4).join(' ')}`).not.toContain(sentinel);
          expect(result.stderr, `stderr of ${args.slice(0, 4).join(' ')}`).not.toContain(sentinel);
        }
      }

      // The catalog holds the stored keys, so it (and any SQLite sidecar) is the owner's alone.
      const files = filesUnder(o.home);
      expect(files).toContain('catalog.db');
      const catalogFiles = files.filter((f) => /^catalog\.db(-wal|-shm|-journal)?$/.test(f));
      for (const f of catalogFiles) expect((statSync(join(o.home, f)).mode & 0o777).toString(8), f).toBe('600');
      // Every other file under STRATA_HOME (logs, config, cache, local storage, spool) is free of them.
      for (const f of files.filter((name) => !catalogFiles.includes(name))) {
        const content = readFileSync(join(o.home, f));
        for (const sentinel of sentinels) expect(content.includes(sentinel), f).toBe(false);
      }
      // So is the bucket: nothing about the provider's credentials is written there.
      for (const key of await bucket.keys()) {
        const content = Buffer.from(await bucket.text(key));
        for (const sentinel of sentinels) expect(content.includes(sentinel), key).toBe(false);
      }
    },
    SLOW,
  );
});
