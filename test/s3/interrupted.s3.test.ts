// Invariant 3 on S3: a put killed with SIGKILL in the middle of a multipart upload leaves an
// unfinished upload behind; running the same put again finishes the job and leaves none.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BIN, strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import type { PutJson, VersionJson } from '../helpers/fixtures.js';
import { createS3ProviderArgs, TestBucket } from '../helpers/s3-bucket.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-s3-interrupted-');
const MiB = 1024 * 1024;
const CLI_ENV = { STRATA_S3_PART_SIZE: String(5 * MiB) };
/** Room for a loaded 2-core machine (CI runs beside other work); typically a fraction of it. */
const SLOW = 150_000;

/** The environment strata() gives the CLI: a user's shell, not vitest's. */
function cliEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STRATA_HOME: home, ...CLI_ENV };
  delete env.NODE_ENV;
  for (const key of Object.keys(env)) if (key.startsWith('VITEST')) delete env[key];
  return env;
}

describe.skipIf(!s3)('an interrupted multipart put on Ceph RGW', () => {
  let bucket: TestBucket;
  beforeAll(async () => {
    assertBuilt();
    bucket = await TestBucket.create(s3!, 'interrupted');
  });
  afterAll(() => bucket?.destroy());

  it(
    'SIGKILL mid-upload leaves an orphan upload; the same put again succeeds and leaves none; the version verifies and commits',
    async () => {
      const o: CliOptions = { home: fresh(), env: CLI_ENV };
      await strataJson(createS3ProviderArgs(s3!, bucket.name, 'ceph'), o);
      await strataJson(['datasets', 'create', '--name', 'big', '--storageProviderId', 'ceph'], o);
      const v = await strataJson<VersionJson>(['datasets', 'versions', 'create', '--id', 'big'], o);
      const src = fresh();
      writeFileSync(join(src, 'model.bin'), randomBytes(40 * MiB));
      const putArgs = ['datasets', 'files', 'put', '--id', v.ref, '--source-path', join(src, 'model.bin')];

      // Start the put, wait (bounded) until its multipart upload exists, then kill it at once.
      const child = spawn(process.execPath, [BIN, ...putArgs], { env: cliEnv(o.home), stdio: 'ignore' });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
        child.on('exit', (code, signal) => done({ code, signal })),
      );
      let finished = false;
      void exited.then(() => (finished = true));
      const deadline = Date.now() + 20_000;
      while ((await bucket.uploads()).length === 0) {
        expect(finished, 'the put ended before its multipart upload was seen').toBe(false);
        expect(Date.now(), 'no multipart upload appeared within 20 s').toBeLessThan(deadline);
        await sleep(10);
      }
      child.kill('SIGKILL');
      expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });

      const orphans = await bucket.uploads();
      expect(orphans).toHaveLength(1);
      expect(orphans[0]!.Key).toMatch(/^blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
      expect(await bucket.keys('blobs/')).toEqual([]);
      // The catalog is consistent: the file is not in the version, which cannot be committed empty-handed.
      expect(await strataJson<unknown[]>(['datasets', 'files', 'list', '--id', v.ref, '--recursive'], o)).toEqual([]);

      // The same put again: it stores the file and clears the orphan.
      const again = await strataJson<PutJson>(putArgs, o);
      expect(again).toMatchObject({ files: 1, bytes: 40 * MiB, bytesUploaded: 40 * MiB });
      expect(await bucket.uploads()).toEqual([]);
      const [file] = readTree(src);
      expect(await bucket.keys('blobs/')).toEqual([`blobs/sha256/${file!.sha256.slice(0, 2)}/${file!.sha256}`]);
      expect(orphans[0]!.Key).toBe(`blobs/sha256/${file!.sha256.slice(0, 2)}/${file!.sha256}`);

      const verified = await strata(['datasets', 'versions', 'verify', '--id', v.ref, '--deep'], o);
      expect({ code: verified.code, stderr: verified.stderr }).toEqual({ code: 0, stderr: '' });
      expect(verified.stdout).toContain('every byte re-hashed');
      expect(await strataJson<VersionJson>(['datasets', 'versions', 'commit', '--id', v.ref], o)).toMatchObject({
        isCommitted: true,
        fileCount: 1,
        size: 40 * MiB,
      });
      expect(await bucket.uploads()).toEqual([]);
    },
    SLOW,
  );
});
