// `npm run chaos` (scripts/chaos.js bundles and runs this): the full profile against a Ceph RGW of
// its own, a table on stdout, the rows as JSON in bench/results/chaos-<time>.json. Exits 1 when any
// row lost, corrupted, diverged, left temp files or could not finish a trial.
//   --profile full|short   (full)        --seed N   (1)        --only REGEX (scenario names)
//   STRATA_TEST_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY: use a running server instead
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { restartRgw, startS3Server, stopS3Server, type S3ServerInfo } from '../helpers/s3-server.js';
import { clean, runChaos, table } from './run.js';
import type { Profile } from './scenario.js';

/** The run stops starting trials after this: `npm run chaos` is bounded (issue 15: ≤ 45 min). */
const BOUND_MS = 40 * 60_000;
/** Scenarios at once: two keep both cores of these machines busy without starving the server. */
const LANES = 2;
const ROOT = resolve(import.meta.dirname, '../..');

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'full' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
  },
});
const profile = values.profile as Profile;
if (profile !== 'full' && profile !== 'short') throw new Error(`--profile full|short, not ${values.profile}`);

function existing(): S3ServerInfo | undefined {
  const {
    STRATA_TEST_S3_ENDPOINT: endpoint,
    STRATA_TEST_S3_ACCESS_KEY: accessKey,
    STRATA_TEST_S3_SECRET_KEY: secretKey,
  } = process.env;
  return endpoint && accessKey && secretKey
    ? { endpoint, accessKey, secretKey, region: 'us-east-1', baseDir: '' }
    : undefined;
}

const started = Date.now();
// Run a copy of the built CLI: a `npm run build` meanwhile (npm test's pretest empties dist/)
// cannot pull it from under the run.
const { snapshotStrata } = (await import(pathToFileURL(join(ROOT, 'bench/proc.js')).href)) as {
  snapshotStrata: (dest: string, log: (line: string) => void) => string;
};
const copy = mkdtempSync(join(tmpdir(), 'strata-chaos-cli-'));
process.env.STRATA_TEST_BIN = snapshotStrata(copy, (line) => process.stderr.write(`${line}\n`));
const given = existing();
const s3 = given ?? (await startS3Server());
let rows;
try {
  rows = await runChaos({
    s3,
    profile,
    seed: Number(values.seed),
    only: values.only === undefined ? undefined : new RegExp(values.only),
    deadline: started + BOUND_MS,
    lanes: LANES,
    // radosgw is restarted in trials only on a server of the run's own
    restart: given ? undefined : () => restartRgw(s3),
    log: (line) => process.stderr.write(`${line}\n`),
  });
} finally {
  await stopS3Server(s3);
  rmSync(copy, { recursive: true, force: true });
}
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
const dir = join(ROOT, 'bench/results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `chaos-${new Date(started).toISOString().replace(/:/g, '-')}.json`);
const minutes = (Date.now() - started) / 60_000;
writeFileSync(
  file,
  `${JSON.stringify({ profile, seed: Number(values.seed), strataCommit: commit, minutes, rows }, null, 2)}\n`,
);
process.stdout.write(`${table(rows)}\n\n${minutes.toFixed(1)} min, seed ${values.seed}, ${profile} profile; ${file}\n`);
for (const r of rows.filter((x) => !clean(x)))
  process.stdout.write(`\n${r.scenario}:\n  ${r.notes.slice(0, 20).join('\n  ')}\n`);
process.exitCode = rows.every(clean) ? 0 : 1;
