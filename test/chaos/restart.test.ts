// Issue 16: radosgw restarted during a put and a get, on a server of this file's own (never the
// one other tests use).
import { afterAll, beforeAll, inject } from 'vitest';
import { restartRgw, startS3Server, stopS3Server, type S3ServerInfo } from '../helpers/s3-server.js';
import { networkScenarios } from './network.js';
import { shortProfile } from './short-profile.js';

let own: S3ServerInfo | undefined;
beforeAll(async () => {
  if (inject('s3')) own = await startS3Server({ memstoreBytes: 1024 ** 3 });
}, 300_000);
afterAll(async () => {
  if (own) await stopS3Server(own);
});

const restart = (): Promise<void> => restartRgw(own!);
shortProfile(
  'radosgw restarted',
  (trees) => networkScenarios(trees, restart).filter((s) => s.name.startsWith('radosgw')),
  {
    server: () => own!,
    restart,
  },
);
