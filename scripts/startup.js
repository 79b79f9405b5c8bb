// Start-up time of the built binary: median of 10 spawns of `strata --version` and
// `strata datasets list` (on a fresh STRATA_HOME holding one dataset). Not a test: a measurement.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = new URL('../bin/run.cjs', import.meta.url).pathname;
const env = { ...process.env, STRATA_HOME: mkdtempSync(join(tmpdir(), 'strata-startup-')) };
execFileSync(process.execPath, [bin, 'datasets', 'create', '--name', 'startup'], { env });

function median(args, runs = 10) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [bin, ...args], { env, stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (r.status !== 0) throw new Error(`strata ${args.join(' ')} exited ${r.status}`);
  }
  times.sort((a, b) => a - b);
  return (times[4] + times[5]) / 2;
}

for (const args of [['--version'], ['datasets', 'list']]) {
  console.log(`strata ${args.join(' ')}: median ${median(args).toFixed(0)} ms of 10 spawns`);
}
