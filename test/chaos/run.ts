// The chaos run: every scenario's trials (seeded), each followed by the checker, counted per
// scenario. `npm run chaos` runs the full profile (scripts/chaos.js → main.ts); `npm test` the
// short one (chaos.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { S3ServerInfo } from '../helpers/s3-server.js';
import { rng } from '../helpers/tree.js';
import { check, type Findings } from './check.js';
import { crashScenarios } from './crashes.js';
import { damageScenarios } from './damage.js';
import { diskScenarios } from './disk.js';
import { networkScenarios } from './network.js';
import { raceScenarios } from './races.js';
import { makeTrees, treesAt, type Profile, type Scenario, type Trees } from './scenario.js';
import { Trial } from './trial.js';

export interface Row {
  scenario: string;
  trials: number;
  succeeded: number;
  failedCleanly: number;
  /** trials whose work could not be finished by running the command again */
  unrecovered: number;
  lost: number;
  corrupt: number;
  divergent: number;
  tempFiles: number;
  /** catalogs failing their integrity check, multipart uploads left open */
  other: number;
  seconds: number;
  notes: string[];
}

export interface ChaosOptions {
  s3: S3ServerInfo;
  profile: Profile;
  seed: number;
  /** only the scenarios whose name matches */
  only?: RegExp;
  /** where trees and trials live (a fresh temp directory when not given) */
  scratch?: string;
  /** no trial starts after this (ms since the epoch): the run is bounded */
  deadline?: number;
  /** restarts the server's radosgw (its own server only), for the restart trials */
  restart?: () => Promise<void>;
  /** scenarios run at once (default 1) */
  lanes?: number;
  log?: (line: string) => void;
}

/**
 * Every scenario, over trees at `trees` (made by makeTrees before any runs); `restart` restarts
 * the server's radosgw (a server of the run's own: never one other tests use).
 */
export function scenarios(trees: Trees, restart?: () => Promise<void>): Scenario[] {
  return [
    ...crashScenarios(trees),
    ...raceScenarios(trees),
    ...damageScenarios(trees),
    ...networkScenarios(trees, restart),
    ...diskScenarios(trees),
  ];
}

/** A number from a name, so each scenario's random stream depends on the seed and itself alone. */
const hash = (text: string): number => [...text].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7);

export async function runScenario(s: Scenario, o: ChaosOptions, scratch: string): Promise<Row> {
  const row: Row = {
    scenario: s.name,
    trials: 0,
    succeeded: 0,
    failedCleanly: 0,
    unrecovered: 0,
    lost: 0,
    corrupt: 0,
    divergent: 0,
    tempFiles: 0,
    other: 0,
    seconds: 0,
    notes: [],
  };
  const started = performance.now();
  for (let i = 0; i < s.trials[o.profile]; i++) {
    if (o.deadline !== undefined && Date.now() > o.deadline) {
      row.notes.push(`stopped after ${i} trial(s): the run's time bound was reached`);
      break;
    }
    const random = rng(o.seed + hash(s.name) + i);
    const around = await s.around?.(o.s3, scratch, random);
    const t = await Trial.open(o.s3, `chaos-${i}`, scratch, around?.place);
    row.trials++;
    try {
      try {
        row[await s.run(t, random)]++;
      } catch (error) {
        row.unrecovered++;
        row.notes.push(`trial ${i}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const f = await check(t, s.people?.(t) ?? []).catch((error: unknown): Findings => ({
        ...{ lost: 0, corrupt: 0, divergent: 0, tempFiles: 0, other: 1 },
        notes: [`the checker failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`],
      }));
      row.lost += f.lost + t.found.lost;
      row.corrupt += f.corrupt + t.found.corrupt;
      row.divergent += f.divergent + t.found.divergent;
      row.tempFiles += f.tempFiles;
      row.other += f.other;
      row.notes.push(...[...t.found.notes, ...f.notes].map((n) => `trial ${i}: ${n}`));
    } finally {
      await t.close();
      await around?.teardown();
    }
    o.log?.(`${s.name}: trial ${i + 1}/${s.trials[o.profile]} done`);
  }
  row.seconds = (performance.now() - started) / 1000;
  return row;
}

export async function runChaos(o: ChaosOptions): Promise<Row[]> {
  const scratch = o.scratch ?? mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'strata-chaos-'));
  try {
    const trees = treesAt(join(scratch, 'trees'));
    makeTrees(trees, o.profile);
    const queue = scenarios(trees, o.restart).filter((s) => !o.only || o.only.test(s.name));
    const rows: Row[] = new Array<Row>(queue.length);
    let next = 0;
    // Lanes take the next scenario from the queue: trials mostly wait on processes and the server.
    const lane = async (): Promise<void> => {
      for (let i = next++; i < queue.length; i = next++) {
        if (!queue[i]!.alone) rows[i] = await runScenario(queue[i]!, o, scratch);
      }
    };
    await Promise.all(Array.from({ length: o.lanes ?? 1 }, lane));
    for (const [i, s] of queue.entries()) if (s.alone) rows[i] = await runScenario(s, o, scratch);
    return rows;
  } finally {
    if (!o.scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** Nothing lost, corrupt, divergent or left over, and every trial's work finished. */
export const clean = (r: Row): boolean =>
  r.unrecovered + r.lost + r.corrupt + r.divergent + r.tempFiles + r.other === 0;

const COLUMNS: [string, (r: Row) => string | number][] = [
  ['scenario', (r) => r.scenario],
  ['trials', (r) => r.trials],
  ['succeeded', (r) => r.succeeded],
  ['failed cleanly', (r) => r.failedCleanly],
  ['unrecovered', (r) => r.unrecovered],
  ['lost/corrupt files', (r) => `${r.lost}/${r.corrupt}`],
  ['divergent', (r) => r.divergent],
  ['temp files left', (r) => r.tempFiles],
  ['other', (r) => r.other],
  ['s', (r) => r.seconds.toFixed(0)],
];

export function table(rows: Row[]): string {
  const cells = [COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, f]) => String(f(r))))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
