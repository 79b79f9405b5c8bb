// The short profile of `npm run chaos`, as vitest tests (issues 15 and 16): a test per scenario,
// its trials run against the test server and each proved by the checker. A row with anything
// lost, corrupt, divergent, left over or unfinished fails its test, with the notes of what went
// wrong. The scenarios are spread over a few test files, which vitest runs side by side.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { assertBuilt } from '../helpers/expect-cli.js';
import type { S3ServerInfo } from '../helpers/s3-server.js';
import { tempDirs } from '../helpers/temp.js';
import { clean, runScenario, table, type Row } from './run.js';
import { makeTrees, treesAt, type Scenario, type Trees } from './scenario.js';

export interface ShortProfile {
  /** the server to run against (default: the test server) */
  server?: () => S3ServerInfo;
  /** restarts its radosgw, for the restart trials (a server of the file's own) */
  restart?: () => Promise<void>;
}

/** Tests for the scenarios `group` makes that have short trials. */
export function shortProfile(title: string, group: (trees: Trees) => Scenario[], profile: ShortProfile = {}): void {
  const s3 = inject('s3');
  const fresh = tempDirs('strata-chaos-');
  const rows: Row[] = [];
  let scratch = '';
  let trees: Trees;
  beforeAll(() => {
    assertBuilt();
    scratch = fresh();
    trees = treesAt(join(scratch, 'trees'));
    makeTrees(trees, 'short');
  });
  afterAll(() => {
    if (rows.length > 0) process.stderr.write(`\n${table(rows)}\n`);
  });
  // The names are known before the trees are made (in beforeAll).
  const names = group(treesAt(''))
    .filter((s) => s.trials.short > 0)
    .map((s) => s.name);
  describe.skipIf(!s3)(`chaos, short profile: ${title} (Ceph RGW)`, () => {
    it.for(names)(
      '%s: 0 lost, 0 corrupt, 0 divergent, 0 temp files left, every trial finished',
      { timeout: 300_000 },
      async (name) => {
        const scenario = group(trees).find((s) => s.name === name)!;
        const server = profile.server?.() ?? s3!;
        const row = await runScenario(
          scenario,
          { s3: server, profile: 'short', seed: 1, restart: profile.restart },
          scratch,
        );
        rows.push(row);
        expect(clean(row), `${table([row])}\n${row.notes.join('\n')}`).toBe(true);
      },
    );
  });
}
