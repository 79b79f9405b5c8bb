// What a chaos scenario is, and the pieces scenarios share.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliOptions, CliResult } from '../helpers/cli.js';
import type { VersionJson } from '../helpers/fixtures.js';
import { makeTree, randomBytesFrom, rng } from '../helpers/tree.js';
import type { S3ServerInfo } from '../helpers/s3-server.js';
import { ok, type Place, type Trial } from './trial.js';

export type Profile = 'short' | 'full';

/** How one trial went: the command did its work at once, or it was cut short and the rerun did it. */
export type Outcome = 'succeeded' | 'failedCleanly';

export interface Scenario {
  name: string;
  trials: Record<Profile, number>;
  /**
   * What a trial needs around it (a fault proxy, a small filesystem): made before A is (A's
   * endpoint, home or cache may be in it), torn down after the checker.
   */
  around?: (s3: S3ServerInfo, scratch: string, random: () => number) => Promise<Around>;
  /** Runs one trial; throws when the work could not be finished (the rerun failed too). */
  run(t: Trial, random: () => number): Promise<Outcome>;
  /** homes other than A whose catalogs and temp files the checker looks at */
  people?: (t: Trial) => CliOptions[];
  /** runs with no other scenario at once (it restarts the server everyone uses) */
  alone?: boolean;
}

export interface Around {
  place: Place;
  teardown(): Promise<void>;
}

/** Source trees, made once per run and only read by trials. */
export interface Trees {
  /** 300 small files and one of 11 MiB (three multipart parts) */
  mixed: string;
  /** three files of 11 MiB */
  large: string;
  /** 120 small files */
  small: string;
  /** 40 other small files */
  extra: string;
}

/** Where the trees are under root (made by makeTrees). */
export const treesAt = (root: string): Trees => ({
  mixed: join(root, 'mixed'),
  large: join(root, 'large'),
  small: join(root, 'small'),
  extra: join(root, 'extra'),
});

export function makeTrees(trees: Trees, profile: Profile): void {
  makeTree(trees.mixed, { count: profile === 'full' ? 300 : 120, seed: 1, minSize: 512, maxSize: 8192 });
  writeFileSync(join(trees.mixed, 'large.bin'), randomBytesFrom(rng(2), 11 * 1024 * 1024));
  makeTree(trees.large, { count: 3, seed: 3, minSize: 11 * 1024 * 1024 - 7, maxSize: 11 * 1024 * 1024 });
  makeTree(trees.small, { count: 120, seed: 4, maxSize: 4096 });
  makeTree(trees.extra, { count: 40, seed: 5, maxSize: 4096 });
}

/** A delay drawn from [0, span). */
export const delay = (random: () => number, spanMs: number): number => Math.floor(random() * spanMs);

/**
 * When to kill a command: a moment drawn from [0, its duration). The duration starts as a guess
 * and follows what the command took whenever it ended before its kill, so kills land inside it.
 */
export class KillSpan {
  constructor(private ms: number) {}

  next(random: () => number): number {
    return delay(random, this.ms);
  }

  observe(tookMs: number): void {
    this.ms = Math.max(100, Math.round((this.ms + tookMs) / 2));
  }
}

export async function openVersion(t: Trial, o: CliOptions = t.a): Promise<string> {
  return (await t.json<VersionJson>(['datasets', 'versions', 'create', '--id', 'ds'], o)).ref;
}

export function putArgs(ref: string, src: string): string[] {
  return ['datasets', 'files', 'put', '--id', ref, '--source-path', `${src}/`];
}

export const commitArgs = (ref: string): string[] => ['datasets', 'versions', 'commit', '--id', ref];

export const getArgs = (ref: string, target: string, ...flags: string[]): string[] => [
  ...['datasets', 'files', 'get', '--id', ref, '--target-path', target],
  ...flags,
];

/** A committed version holding src, recorded as what it must hold. */
export async function committedVersion(t: Trial, src: string): Promise<string> {
  const ref = await openVersion(t);
  ok(await t.run(putArgs(ref, src)), 'put');
  ok(await t.run(['datasets', 'versions', 'commit', '--id', ref]), 'commit');
  t.expected.set(ref, src);
  return ref;
}

/** Runs the command killed at a random moment, then again to finish; says how the first went. */
export async function killThenRerun(
  t: Trial,
  args: string[],
  span: KillSpan,
  random: () => number,
  o: CliOptions = t.a,
): Promise<{ outcome: Outcome; first: CliResult }> {
  const started = performance.now();
  const first = await t.killedAfter(args, span.next(random), o);
  if (first.code === 0) {
    span.observe(performance.now() - started);
    return { outcome: 'succeeded', first };
  }
  if (first.signal !== 'SIGKILL') throw new Error(`not killed, yet failed (${first.code}): ${first.stderr.trim()}`);
  ok(await t.run(args, o), `${args.slice(0, 3).join(' ')} again`);
  return { outcome: 'failedCleanly', first };
}

/** The same with a named fault point (src/core/faults.ts) instead of a random moment. */
export async function faultThenRerun(t: Trial, args: string[], point: string, o: CliOptions = t.a): Promise<Outcome> {
  const first = await t.run(args, o, { STRATA_FAULT: point });
  if (first.code === 0) return 'succeeded';
  if (first.signal !== 'SIGKILL') throw new Error(`failed at ${point} without the fault: ${first.stderr.trim()}`);
  ok(await t.run(args, o), `${args.slice(0, 3).join(' ')} again after ${point}`);
  return 'failedCleanly';
}
