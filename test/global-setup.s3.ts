// vitest globalSetup: one real S3 server (Ceph RGW) for the whole run, read in tests with inject('s3').
//
//   STRATA_TEST_S3=off                       no server; inject('s3') is null and S3 tests skip (ignored under CI)
//   STRATA_TEST_S3_ENDPOINT, _ACCESS_KEY,    use this already running server instead of starting one
//   STRATA_TEST_S3_SECRET_KEY (+ _REGION)
//   CI (any non-empty value)                 a server that cannot start fails the run instead of skipping
// The type import brings 'vitest' itself into the program: without it the augmentation below fails (TS2664).
import type { ProvidedContext } from 'vitest';
import type { TestProject } from 'vitest/node';
import { startS3Server, stopS3Server, type S3ServerInfo } from './helpers/s3-server.js';
import { inCI } from './helpers/ci.js';

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3ServerInfo | null;
  }
}

function provideS3(project: TestProject, value: ProvidedContext['s3']): void {
  project.provide('s3', value);
}

function warn(message: string): void {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n${message}\n${bar}\n\n`);
}

function existingServer(): S3ServerInfo | undefined {
  const { STRATA_TEST_S3_ENDPOINT: endpoint, STRATA_TEST_S3_ACCESS_KEY: accessKey } = process.env;
  const { STRATA_TEST_S3_SECRET_KEY: secretKey, STRATA_TEST_S3_REGION: region } = process.env;
  if (!endpoint || !accessKey || !secretKey) return undefined;
  return { endpoint, accessKey, secretKey, region: region || 'us-east-1', baseDir: '' };
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const ci = inCI();

  if (process.env.STRATA_TEST_S3 === 'off' && !ci) {
    provideS3(project, null);
    return undefined;
  }

  const existing = existingServer();
  if (existing) {
    process.stderr.write(`S3 tests use the existing server at ${existing.endpoint}\n`);
    provideS3(project, existing);
    return undefined;
  }

  let info: S3ServerInfo;
  try {
    info = await startS3Server();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (ci) throw new Error(`CI=true and the S3 test server could not start. ${reason}`);
    warn(
      `S3 TEST SERVER DID NOT START: every test that needs S3 will be SKIPPED.\n${reason}\n` +
        'Set STRATA_TEST_S3=off to skip them on purpose, or STRATA_TEST_S3_ENDPOINT/_ACCESS_KEY/_SECRET_KEY to use a running server.',
    );
    provideS3(project, null);
    return undefined;
  }

  process.stderr.write(`S3 test server at ${info.endpoint} (${info.baseDir})\n`);
  provideS3(project, info);
  return async () => {
    await stopS3Server(info);
  };
}
