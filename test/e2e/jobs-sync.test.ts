import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { listFilesJson } from '../helpers/fixtures.js';
import {
  parseJson,
  poll,
  processesWith,
  startStrata,
  versionsOf,
  type JobResultJson,
  type RunDetailsJson,
  type RunJson,
  type VersionDetailsJson,
} from '../helpers/jobs.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';

const fresh = tempDirs('strata-jobs-sync-');

beforeAll(assertBuilt);

const details = (o: CliOptions, ref: string): Promise<VersionDetailsJson> =>
  strataJson<VersionDetailsJson>(['datasets', 'versions', 'details', '--id', ref], o);

async function contentsOf(o: CliOptions, ref: string): Promise<Record<string, string>> {
  const target = join(fresh(), 'got');
  await strataJson(['datasets', 'files', 'get', '--id', ref, '--target-path', target], o);
  return Object.fromEntries(readTree(target).map((f) => [f.path, readFileSync(join(target, f.path), 'utf8')]));
}

describe.concurrent('a runner killed with SIGKILL', () => {
  // auto is namespace isolation when root (the watchdog kills the PID namespace), none elsewhere (the process group).
  it.for(['auto', 'none'] as const)(
    '--isolation %s: takes its job with it, leaves the synced files in an uncommitted version, shows as lost; --resume-from continues',
    { timeout: 120_000 },
    async (isolation) => {
      const o = { home: fresh() };
      // Every process of the job inherits the runner's environment: the marker finds them in /proc.
      const marker = `STRATA_TEST_MARKER=${randomBytes(8).toString('hex')}`;
      const [key, value] = marker.split('=') as [string, string];
      const runner = startStrata(
        [
          'jobs',
          'exec',
          '--isolation',
          isolation,
          '--output',
          'ckpt=checkpoints,sync=1s',
          '--',
          'sh',
          '-c',
          'echo "epoch 1" > "$STRATA_OUTPUT_CKPT/epoch1.txt"; sleep 300; echo "never" > "$STRATA_OUTPUT_CKPT/never.txt"',
        ],
        { ...o, env: { [key]: value } },
      );
      let ref: string;
      try {
        const version = await poll('the output version', async () => (await versionsOf(o, 'checkpoints'))[0]);
        ref = `checkpoints:${version.id}`;
        // At least one sync has stored the file.
        await poll('a sync of epoch1.txt', async () =>
          (await listFilesJson(o, ref)).some((f) => f.path === 'epoch1.txt'),
        );
        expect(processesWith(marker).length).toBeGreaterThan(1); // the runner and its job (sh, sleep, watchdog)
      } finally {
        runner.child.kill('SIGKILL');
      }
      const killed = await runner.done;
      expect(killed.signal).toBe('SIGKILL');

      // No process of the job outlives its runner (the watchdog polls every 0.5 s).
      await poll('the job to be gone', () => processesWith(marker).length === 0, { timeoutMs: 5000, intervalMs: 100 });

      const runs = await strataJson<RunJson[]>(['jobs', 'list'], o);
      expect(runs.map((r) => [r.job, r.status, r.exitCode, r.endedAt])).toEqual([['exec', 'lost', null, null]]);
      const lost = runs[0]!;
      const lostDetails = await strataJson<RunDetailsJson>(['jobs', 'details', '--id', lost.id], o);
      expect(lostDetails).toMatchObject({
        status: 'lost',
        outputs: [{ name: 'ckpt', versionId: ref.split(':')[1], committed: false }],
      });

      expect(await details(o, ref)).toMatchObject({ isCommitted: false, fileCount: 1 });
      expect(await contentsOf(o, ref)).toEqual({ 'epoch1.txt': 'epoch 1\n' });

      // A new run starts from the synced files (the job checks they are there) and adds to them.
      const resumed = await strata(
        [
          'jobs',
          'exec',
          '--json',
          '--isolation',
          isolation,
          '--output',
          'ckpt=checkpoints',
          '--resume-from',
          `ckpt=${ref}`,
          '--',
          'sh',
          '-c',
          'test "$(cat "$STRATA_OUTPUT_CKPT/epoch1.txt")" = "epoch 1" && echo "epoch 2" > "$STRATA_OUTPUT_CKPT/epoch2.txt"',
        ],
        o,
      );
      expect({ code: resumed.code, stderr: resumed.stderr }).toEqual({ code: 0, stderr: expect.any(String) as string });
      expect(resumed.stderr).toContain(`output ckpt: resumed from ${ref} (1 files)`);
      const result = parseJson<JobResultJson>(resumed);
      expect(result.runId).not.toBe(lost.id);
      const made = result.outputs[0]!;
      expect(made).toMatchObject({ name: 'ckpt', committed: true, files: 2 });
      expect(made.ref).not.toBe(ref);
      expect(await contentsOf(o, made.ref)).toEqual({ 'epoch1.txt': 'epoch 1\n', 'epoch2.txt': 'epoch 2\n' });
      expect((await details(o, made.ref)).provenance).toMatchObject({ runId: result.runId, job: 'exec' });
      // The version the lost run left is untouched.
      expect(await details(o, ref)).toMatchObject({ isCommitted: false, fileCount: 1 });
      const after = await strataJson<RunJson[]>(['jobs', 'list'], o);
      expect(after.map((r) => [r.id, r.status])).toEqual([
        [result.runId, 'succeeded'],
        [lost.id, 'lost'],
      ]);
    },
  );
});
