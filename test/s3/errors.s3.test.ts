// S3 provider failures as a person meets them: one clear line, the storage exit code (6), quickly,
// and nothing recorded.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectErrorLine, expectJsonError } from '../helpers/expect-cli.js';
import type { DatasetJson } from '../helpers/fixtures.js';
import { bucketName, createS3ProviderArgs, silentServer, TestBucket } from '../helpers/s3-bucket.js';
import { catalogRows } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-s3-errors-');
/** Room for a loaded 2-core machine (CI runs beside other work); typically a fraction of it. */
const SLOW = 150_000;

interface ProviderJson {
  id: string;
  name: string;
  config: Record<string, unknown>;
}

const home = (): CliOptions => ({ home: fresh() });

/** What a failure must leave alone; the first call also makes the catalog (with its local provider). */
const state = async (o: CliOptions) => ({
  providers: await strataJson<ProviderJson[]>(['storageProviders', 'list'], o),
  catalog: catalogRows(join(o.home, 'catalog.db')),
});

describe.skipIf(!s3).concurrent('S3 provider errors on Ceph RGW', () => {
  let bucket: TestBucket;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  beforeAll(async () => {
    assertBuilt();
    bucket = await TestBucket.create(s3!, 'errors');
    silent = await silentServer();
  });
  afterAll(async () => {
    silent?.close();
    await bucket?.destroy();
  });

  const cases: [string, () => Parameters<typeof createS3ProviderArgs>[3] & { bucket?: string }, string, RegExp][] = [
    [
      'a wrong secret key',
      () => ({ secretKey: 'wrong-secret-key-0123456789abcdef' }),
      'ECREDENTIALS',
      /secret access key is wrong/,
    ],
    [
      'an unknown access key',
      () => ({ accessKey: 'AKNOSUCHKEY000000000' }),
      'ECREDENTIALS',
      /does not know this access key/,
    ],
    [
      'a missing bucket',
      () => ({ bucket: bucketName('missing') }),
      'ENOBUCKET',
      /bucket missing-[0-9a-f-]+ does not exist/,
    ],
    [
      'a closed port',
      () => ({ endpoint: 'http://127.0.0.1:1' }),
      'EUNREACHABLE',
      /cannot reach http:\/\/127\.0\.0\.1:1\b/,
    ],
    [
      'an endpoint that never answers',
      () => ({ endpoint: silent.endpoint }),
      'EUNREACHABLE',
      /127\.0\.0\.1:\d+.*(no answer|time)/,
    ],
  ];

  describe('storageProviders create s3 fails with exit 6, one line, within 30 s, catalog unchanged', () => {
    it.each(cases)(
      '%s',
      async (_label, make, code, message) => {
        const o = home();
        const before = await state(o);
        const { bucket: other, ...extra } = make();
        const args = createS3ProviderArgs(s3!, other ?? bucket.name, 'broken', extra);

        const started = Date.now();
        const result = await strata(args, o);
        expect(Date.now() - started).toBeLessThan(30_000);
        const line = expectErrorLine(result, 6);
        expect(line).toMatch(message);

        // The same under --json (but once only for the hung endpoint: it costs its whole deadline).
        if (code !== 'EUNREACHABLE' || !line.includes('no answer')) {
          const json = expectJsonError(await strata([...args, '--json'], o), 6);
          expect(json.code).toBe(code);
          expect(`Error: ${json.message}`).toBe(line);
        }

        expect(await state(o)).toEqual(before);
      },
      SLOW,
    );
  });

  describe('around create', () => {
    it(
      '--no-verify records a provider with a wrong secret; datasets create on it fails with exit 6 and records nothing; update s3 with the right secret repairs it',
      async () => {
        const o = home();
        const args = createS3ProviderArgs(s3!, bucket.name, 'unchecked', {
          secretKey: 'wrong-secret-key-0123456789abcdef',
          flags: ['--no-verify'],
        });
        const provider = await strataJson<ProviderJson>(args, o);
        expect(provider).toMatchObject({ name: 'unchecked', config: { secretAccessKey: 'wr****ef' } });
        const before = await state(o);

        const line = expectErrorLine(
          await strata(['datasets', 'create', '--name', 'demo', '--storageProviderId', 'unchecked'], o),
          6,
        );
        expect(line).toMatch(/secret access key is wrong/);
        expect(await strataJson<DatasetJson[]>(['datasets', 'list'], o)).toEqual([]);
        expect(await state(o)).toEqual(before);

        // A wrong new secret is refused by update too, and changes nothing.
        const refused = await strata(
          ['storageProviders', 'update', 's3', '--id', 'unchecked', '--secretAccessKey', 'another-wrong-secret-42'],
          o,
        );
        expect(expectErrorLine(refused, 6)).toMatch(/secret access key is wrong/);
        expect(await state(o)).toEqual(before);

        // The right secret: checked, stored, shown masked; the provider now works.
        expect(
          (
            await strata(
              [
                'storageProviders',
                'update',
                's3',
                '--id',
                'unchecked',
                '--accessKey',
                s3!.accessKey,
                '--secretAccessKey',
                s3!.secretKey,
              ],
              o,
            )
          ).stdout,
        ).toBe(`Updated storage provider: ${provider.id}\n`);
        const details = await strataJson<ProviderJson>(['storageProviders', 'details', '--id', provider.id], o);
        const masked = `${s3!.secretKey.slice(0, 2)}****${s3!.secretKey.slice(-2)}`;
        expect(details.config).toMatchObject({ secretAccessKey: masked, accessKey: s3!.accessKey });
        const table = await strata(['storageProviders', 'details', '--id', 'unchecked'], o);
        expect(table.stdout).toContain(masked);
        expect(table.stdout).not.toContain(s3!.secretKey);
        const ds = await strataJson<DatasetJson>(
          ['datasets', 'create', '--name', 'demo', '--storageProviderId', 'unchecked'],
          o,
        );
        expect(await bucket.exists(`datasets/${ds.id}/dataset.json`)).toBe(true);
      },
      SLOW,
    );

    it(
      'on an endpoint that stops answering, datasets create fails with exit 6 once --timeout has passed without an answer, and records nothing',
      async () => {
        const o = home();
        await strataJson(
          createS3ProviderArgs(s3!, bucket.name, 'hung', { endpoint: silent.endpoint, flags: ['--no-verify'] }),
          o,
        );
        const before = await state(o);
        const started = Date.now();
        const result = await strata(
          ['datasets', 'create', '--name', 'demo', '--storageProviderId', 'hung', '--timeout', '4s'],
          { ...o, env: { STRATA_S3_IDLE_TIMEOUT_MS: '1000' } },
        );
        expect(Date.now() - started).toBeLessThan(15_000);
        expect(expectErrorLine(result, 6)).toMatch(
          /^Error: gave up after \d s with no successful answer from http:\/\/127\.0\.0\.1:\d+ \(last: cannot reach .*no answer in time/,
        );
        expect(await state(o)).toEqual(before);
      },
      SLOW,
    );

    it(
      '--signatureVersion v2 is a usage error (exit 2) saying v2 is not supported; v4 is accepted',
      async () => {
        const o = home();
        const before = await state(o);
        const args = createS3ProviderArgs(s3!, bucket.name, 'sig', { flags: ['--signatureVersion', 'v2'] });
        const line = expectErrorLine(await strata(args, o), 2);
        expect(line).toMatch(/v2/);
        expect(line).toMatch(/not supported/);
        expect(expectJsonError(await strata([...args, '--json'], o), 2).code).toBe('ESIGNATURE');
        expect(await state(o)).toEqual(before);
        const v4 = await strataJson<ProviderJson>(
          createS3ProviderArgs(s3!, bucket.name, 'sig', { flags: ['--signatureVersion', 'v4'] }),
          o,
        );
        expect(v4.config).toMatchObject({ signatureVersion: 'v4' });
      },
      SLOW,
    );

    it(
      'storageProviders delete is refused (exit 4) while a dataset uses the provider, and works once none does',
      async () => {
        const o = home();
        const provider = await strataJson<ProviderJson>(createS3ProviderArgs(s3!, bucket.name, 'busy'), o);
        const ds = await strataJson<DatasetJson>(
          ['datasets', 'create', '--name', 'user', '--storageProviderId', 'busy'],
          o,
        );
        const before = await state(o);
        const line = expectErrorLine(await strata(['storageProviders', 'delete', '--id', 'busy'], o), 4);
        expect(line).toMatch(/busy.*1 dataset/);
        expect(await state(o)).toEqual(before);

        await strataJson(['datasets', 'delete', '--id', ds.id], o);
        expect(await strataJson<ProviderJson>(['storageProviders', 'delete', '--id', provider.id], o)).toMatchObject({
          id: provider.id,
        });
        expect((await strataJson<ProviderJson[]>(['storageProviders', 'list'], o)).map((p) => p.name)).toEqual([
          'local',
        ]);
      },
      SLOW,
    );
  });
});
