// One trial of `npm run chaos`: a fresh bucket, the person A who works on it (an S3 provider `team`,
// a dataset `ds`), the source trees A's committed versions must hold, and the directories files
// were written into (checked for leftovers afterwards).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startStrata, strata, strataJson, type CliOptions, type CliResult } from '../helpers/cli.js';
import { createS3ProviderArgs, TestBucket } from '../helpers/s3-bucket.js';
import type { S3ServerInfo } from '../helpers/s3-server.js';

const MiB = 1024 * 1024;

/** `storageProviders create s3` or `import s3` of the trial's bucket, named `team`. */
export function providerArgs(verb: 'create' | 'import', s3: S3ServerInfo, bucket: string): string[] {
  const args = createS3ProviderArgs(s3, bucket, 'team');
  args[1] = verb;
  return args;
}
/** 5 MiB parts (the S3 minimum): an 11 MiB file goes up in three. */
export const CLI_ENV = { STRATA_S3_PART_SIZE: String(5 * MiB) };

/** Where A's requests, STRATA_HOME and cache go, when not to the server and the trial's scratch space. */
export interface Place {
  endpoint?: string;
  home?: string;
  cache?: string;
  env?: NodeJS.ProcessEnv;
}

export class Trial {
  /** committed version ref → the directory whose tree it must hold exactly */
  readonly expected = new Map<string, string>();
  /** directories a get wrote into: no temp file may be left in them */
  readonly targets: string[] = [];
  /** open versions whose draft in the bucket must name exactly the files the catalog has */
  readonly drafts = new Set<string>();
  /** what a scenario itself found wrong (a race with the wrong outcome), beside the checker's findings */
  readonly found = { lost: 0, corrupt: 0, divergent: 0, notes: [] as string[] };
  private made = 0;

  private constructor(
    readonly s3: S3ServerInfo,
    readonly bucket: TestBucket,
    readonly a: CliOptions,
    readonly scratch: string,
  ) {}

  /**
   * `endpoint`: A reaches the bucket there (a fault proxy) rather than at the server; `home` and
   * `cache`: A's STRATA_HOME and cache directory (a small filesystem), instead of the scratch's.
   */
  static async open(s3: S3ServerInfo, label: string, root: string, place: Place = {}): Promise<Trial> {
    const scratch = mkdtempSync(join(root, `${label}-`));
    const bucket = await TestBucket.create(s3, label);
    const a: CliOptions = {
      home: place.home ?? join(scratch, 'a'),
      env: { ...CLI_ENV, STRATA_CACHE_DIR: place.cache ?? join(scratch, 'cache'), ...place.env },
    };
    const trial = new Trial(s3, bucket, a, scratch);
    await trial.json(providerArgs('create', { ...s3, endpoint: place.endpoint ?? s3.endpoint }, bucket.name), a);
    await trial.json(['datasets', 'create', '--name', 'ds', '--storageProviderId', 'team'], a);
    return trial;
  }

  flag(kind: 'lost' | 'corrupt' | 'divergent', note: string, count = 1): void {
    this.found[kind] += count;
    this.found.notes.push(note);
  }

  /** A fresh directory under the trial's scratch space. */
  dir(name: string): string {
    const path = join(this.scratch, `${name}-${++this.made}`);
    mkdirSync(path, { recursive: true });
    return path;
  }

  /** A second person: a fresh STRATA_HOME attached to the bucket. */
  async person(name: string): Promise<CliOptions> {
    const o: CliOptions = { home: this.dir(name), env: { ...CLI_ENV, STRATA_CACHE_DIR: this.dir(`${name}-cache`) } };
    await this.json(providerArgs('import', this.s3, this.bucket.name), o);
    return o;
  }

  run(args: string[], o: CliOptions = this.a, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return strata(args, { ...o, env: { ...o.env, ...env } });
  }

  json<T>(args: string[], o: CliOptions = this.a): Promise<T> {
    return strataJson<T>(args, o);
  }

  /** Runs a command and SIGKILLs it after `ms` unless it ended first. */
  async killedAfter(args: string[], ms: number, o: CliOptions = this.a): Promise<CliResult> {
    const run = startStrata(args, o);
    const timer = setTimeout(() => {
      try {
        process.kill(run.pid, 'SIGKILL');
      } catch {
        // ended already
      }
    }, ms);
    const result = await run.result;
    clearTimeout(timer);
    return result;
  }

  async close(): Promise<void> {
    await this.bucket.destroy().catch(() => undefined);
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** A command that must succeed: its output, or an error saying what it printed. */
export function ok(r: CliResult, what: string): CliResult {
  if (r.code !== 0)
    throw new Error(`${what} exited ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(0, 400)}`);
  return r;
}
