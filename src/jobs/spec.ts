import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { UsageError } from '../core/errors.js';
import { parseDuration } from '../core/config.js';
import { parseRef, validateTagName } from '../core/refs.js';
import { parseResources, type Resources } from './resources.js';

export type InputSpec =
  | { name: string; line: number; kind: 'dataset'; ref: string }
  | { name: string; line: number; kind: 'http'; url: string; extract: boolean }
  /** ref: a branch, a tag or a full commit id; none: the repository's default branch */
  | { name: string; line: number; kind: 'git'; url: string; ref?: string }
  | { name: string; line: number; kind: 'job'; job: string; output: string };

export interface OutputSpec {
  name: string;
  line: number;
  /** DATASET or DATASET:TAG; a dataset that does not exist is created */
  dataset: string;
  tag?: string;
  storageProviderId?: string;
  /** null: no sync while running, only at the end */
  syncMs: number | null;
  deleteSync: boolean;
}

export interface JobSpec {
  name: string;
  line: number;
  needs: string[];
  /** where each need is written (an entry of `needs`, or the input that implies it), for errors */
  needLines?: Record<string, number>;
  inputs: InputSpec[];
  outputs: OutputSpec[];
  logs?: OutputSpec;
  run: string;
  env: Record<string, string>;
  workingDirectory?: string;
  /** asked of a cluster node (--executor slurm); the local executor ignores them */
  resources?: Resources;
}

export const DEFAULT_SYNC_MS = 60_000;
export const DEFAULT_LOG_SYNC_MS = 10_000;
export const NAME = /^[A-Za-z0-9_-]+$/;
const JOB_OUTPUT = /^([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)$/;

/**
 * Reads a Gradient-workflow-style job spec (DESIGN.md). Every error names the file and line and
 * is raised before anything runs.
 */
export function parseSpec(text: string, file: string): Map<string, JobSpec> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const lineOf = (node: Node | Pair | null | undefined): number => {
    const range =
      (node as { range?: [number, number] } | null)?.range ?? ((node as Pair | null)?.key as Node | null)?.range;
    return range ? lines.linePos(range[0]).line : 1;
  };
  const fail: Fail = Object.assign(
    (node: Node | Pair | null | undefined, message: string): never => {
      throw new UsageError(`${file}:${lineOf(node)}: ${message}`, 'ESPEC');
    },
    {
      lineOf,
      atLine: (line: number, message: string): never => {
        throw new UsageError(`${file}:${line}: ${message}`, 'ESPEC');
      },
    },
  );
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new UsageError(
      `${file}:${e.linePos?.[0]?.line ?? 1}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      'ESPEC',
    );
  }
  const root = doc.contents;
  if (!isMap(root)) return fail(root, 'a job spec is a mapping with a "jobs" key');
  const jobsNode = root.get('jobs', true);
  if (!isMap(jobsNode) || jobsNode.items.length === 0)
    return fail(jobsNode ?? root, '"jobs" must map job names to jobs');
  for (const pair of root.items) if (keyOf(pair) !== 'jobs') fail(pair, `unknown top-level key "${keyOf(pair)}"`);

  const jobs = new Map<string, JobSpec>();
  for (const pair of jobsNode.items) {
    const name = keyOf(pair);
    if (!NAME.test(name)) fail(pair, `job name "${name}": use letters, digits, "_" and "-"`);
    if (!isMap(pair.value)) fail(pair, `job ${name} must be a mapping`);
    jobs.set(name, parseJob(name, pair.value as YAMLMap, lineOf(pair), fail));
  }
  checkReferences(jobs, file);
  return jobs;
}

type Fail = ((node: Node | Pair | null | undefined, message: string) => never) & {
  lineOf: (node: Node | Pair | null | undefined) => number;
  atLine: (line: number, message: string) => never;
};

const JOB_KEYS = new Set([
  'needs',
  'inputs',
  'outputs',
  'logs',
  'run',
  'env',
  'workingDirectory',
  'uses',
  'with',
  'resources',
]);

function parseJob(name: string, map: YAMLMap, line: number, fail: Fail): JobSpec {
  for (const pair of map.items) {
    if (!JOB_KEYS.has(keyOf(pair))) fail(pair, `job ${name}: unknown key "${keyOf(pair)}"`);
  }
  const uses = map.get('uses', true);
  if (isScalar(uses) && typeof uses.value === 'string' && uses.value.startsWith('git-checkout@')) {
    fail(
      uses,
      `job ${name}: "uses: ${uses.value}" runs a container; a git input does the same: inputs: {NAME: {type: git, with: {url: URL, ref: BRANCH|TAG|COMMIT}}} is cloned into /inputs/NAME`,
    );
  }
  if (uses) {
    const w = map.get('with', true);
    const image = isMap(w) ? String(w.get('image') ?? 'IMAGE') : 'IMAGE';
    const args = isMap(w) ? w.get('args', true) : undefined;
    const argv = isSeq(args) ? args.items.map((a) => String(isScalar(a) ? a.value : a)) : [];
    const run = argv.length > 0 ? argv.map(shellQuote).join(' ') : '<the command the image runs>';
    fail(
      uses as Node,
      `job ${name}: "uses: ${String(isScalar(uses) ? uses.value : uses)}" runs containers, which Strata does not; write \`run: ${run}\` and run Strata inside ${image} (e.g. \`strata jobs exec … -- ${run}\` as the container's command)`,
    );
  }
  const run = map.get('run', true);
  if (!isScalar(run) || typeof run.value !== 'string' || run.value.trim() === '') {
    const why = `job ${name}: "run" must be a shell command`;
    return run ? fail(run, why) : fail.atLine(line, why);
  }
  const job: JobSpec = { name, line, needs: [], needLines: {}, inputs: [], outputs: [], run: run.value, env: {} };

  const needs = map.get('needs', true);
  if (needs !== undefined) {
    if (!isSeq(needs)) fail(needs, `job ${name}: "needs" must be a list of job names`);
    for (const item of (needs as { items: Node[] }).items) {
      if (!isScalar(item) || typeof item.value !== 'string') fail(item, `job ${name}: "needs" entries are job names`);
      const need = String((item as { value: unknown }).value);
      job.needs.push(need);
      job.needLines![need] ??= fail.lineOf(item);
    }
  }
  const env = map.get('env', true);
  if (env !== undefined) {
    if (!isMap(env)) fail(env, `job ${name}: "env" must map names to values`);
    for (const pair of (env as YAMLMap).items) {
      const value = pair.value;
      if (!isScalar(value) || value.value === null || typeof value.value === 'object')
        fail(pair, `job ${name}: env ${keyOf(pair)} must be a plain value`);
      job.env[keyOf(pair)] = String((value as { value: unknown }).value);
    }
  }
  const resources = map.items.find((p) => keyOf(p) === 'resources');
  if (resources) job.resources = parseResources(name, resources, fail);
  const wd = map.get('workingDirectory', true);
  if (wd !== undefined) {
    if (!isScalar(wd) || typeof wd.value !== 'string') fail(wd, `job ${name}: "workingDirectory" must be a path`);
    job.workingDirectory = String((wd as { value: unknown }).value);
  }
  const inputs = map.get('inputs', true);
  if (inputs !== undefined) {
    if (!isMap(inputs)) fail(inputs, `job ${name}: "inputs" must map names to inputs`);
    for (const pair of (inputs as YAMLMap).items) job.inputs.push(parseInput(name, pair, fail));
  }
  const outputs = map.get('outputs', true);
  if (outputs !== undefined) {
    if (!isMap(outputs)) fail(outputs, `job ${name}: "outputs" must map names to outputs`);
    for (const pair of (outputs as YAMLMap).items) job.outputs.push(parseOutput(name, pair, DEFAULT_SYNC_MS, fail));
  }
  const logs = map.get('logs', true);
  if (logs !== undefined) {
    job.logs = parseOutput(
      name,
      map.items.find((p) => keyOf(p) === 'logs')!,
      DEFAULT_LOG_SYNC_MS,
      fail,
    );
  }
  return job;
}

function parseInput(job: string, pair: Pair, fail: Fail): InputSpec {
  const name = keyOf(pair);
  const line = fail.lineOf(pair);
  if (!NAME.test(name)) fail(pair, `job ${job}: input name "${name}": use letters, digits, "_" and "-"`);
  const value = pair.value as Node | null;
  if (isScalar(value) && typeof value.value === 'string') {
    const m = JOB_OUTPUT.exec(value.value);
    if (!m)
      fail(value, `job ${job}: input ${name}: "${value.value}" is neither JOB.outputs.NAME nor a {type, with} mapping`);
    return { name, line, kind: 'job', job: m![1]!, output: m![2]! };
  }
  if (!isMap(value)) return fail(pair, `job ${job}: input ${name} must be a mapping with type and with`);
  const type = value.get('type');
  const w = value.get('with', true);
  if (!isMap(w)) return fail(value, `job ${job}: input ${name} needs "with"`);
  if (type === 'dataset') {
    const ref = w.get('ref');
    if (typeof ref !== 'string') return fail(w, `job ${job}: input ${name} needs with.ref (DATASET[:VERSION|:TAG])`);
    try {
      parseRef(ref);
    } catch (error) {
      fail(w.get('ref', true) as Node, `job ${job}: input ${name}: ${(error as Error).message}`);
    }
    return { name, line, kind: 'dataset', ref };
  }
  if (type === 'http') {
    const url = w.get('url');
    if (typeof url !== 'string' || !/^https?:\/\//.test(url))
      return fail(w, `job ${job}: input ${name} needs with.url (http or https)`);
    return { name, line, kind: 'http', url, extract: w.get('extract') === true };
  }
  if (type === 'git') {
    const url = w.get('url');
    const ref = w.get('ref');
    if (typeof url !== 'string' || url === '')
      return fail(w, `job ${job}: input ${name} needs with.url (a git remote)`);
    const refused = refusedGitUrl(url);
    if (refused) fail(w.get('url', true) as Node, `job ${job}: input ${name}: ${refused}`);
    if (ref !== undefined && (typeof ref !== 'string' || !GIT_REF.test(ref)))
      fail(w.get('ref', true) as Node, `job ${job}: input ${name}: with.ref must be a branch, a tag or a commit id`);
    return { name, line, kind: 'git', url, ...(ref === undefined ? {} : { ref: ref as string }) };
  }
  return fail(value, `job ${job}: input ${name}: type must be dataset, http or git`);
}

/** A branch, tag or commit id, as git check-ref-format allows, and never an option. */
const GIT_REF = /^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/+@-]+(?<![./]|\.lock)$/;

/**
 * Why a git remote is refused, if it is: `ext::` and other `TRANSPORT::` remote helpers run
 * commands of the URL's choosing, and a URL that starts with "-" would be read as an option.
 */
export function refusedGitUrl(url: string): string | undefined {
  if (url.startsWith('-')) return `"${url}" is not a git remote`;
  const helper = /^([A-Za-z][A-Za-z0-9+.-]*)::/.exec(url);
  if (helper)
    return `git remotes of the form ${helper[1]}::… run commands and are refused; use https, ssh, git or a path`;
  return undefined;
}

function parseOutput(job: string, pair: Pair, defaultSync: number, fail: Fail): OutputSpec {
  const name = keyOf(pair);
  if (!NAME.test(name)) fail(pair, `job ${job}: output name "${name}": use letters, digits, "_" and "-"`);
  const value = pair.value;
  if (!isMap(value) || value.get('type') !== 'dataset')
    return fail(pair, `job ${job}: output ${name} must be {type: dataset, with: {ref}}`);
  const w = value.get('with', true);
  if (!isMap(w)) return fail(value, `job ${job}: output ${name} needs with.ref (DATASET or DATASET:TAG)`);
  const ref = w.get('ref');
  if (typeof ref !== 'string') return fail(value, `job ${job}: output ${name} needs with.ref (DATASET or DATASET:TAG)`);
  let dataset: string;
  let tag: string | undefined;
  try {
    const parsed = parseRef(ref);
    dataset = parsed.dataset;
    tag = parsed.selector;
    if (tag !== undefined) validateTagName(tag);
  } catch (error) {
    return fail(w.get('ref', true) as Node, `job ${job}: output ${name}: ${(error as Error).message}`);
  }
  const provider = w.get('storageProviderId');
  const syncNode = value.get('sync', true);
  let syncMs: number | null = defaultSync;
  if (syncNode !== undefined) {
    const raw = isScalar(syncNode) ? syncNode.value : undefined;
    if (raw === 'off' || raw === false) syncMs = null;
    else {
      try {
        syncMs = parseDuration(String(raw));
      } catch {
        fail(
          syncNode as Node,
          `job ${job}: output ${name}: sync "${String(raw)}" is not an interval (e.g. 30s, 10m) or off`,
        );
      }
      if (syncMs! < 1000) fail(syncNode as Node, `job ${job}: output ${name}: sync must be at least 1s`);
    }
  }
  const deleteSync = value.get('deleteSync');
  if (deleteSync !== undefined && typeof deleteSync !== 'boolean')
    fail(value, `job ${job}: output ${name}: deleteSync is true or false`);
  return {
    name,
    line: fail.lineOf(pair),
    dataset,
    ...(tag ? { tag } : {}),
    ...(typeof provider === 'string' ? { storageProviderId: provider } : {}),
    syncMs,
    deleteSync: deleteSync !== false,
  };
}

/** needs and JOB.outputs.NAME name real jobs and outputs; inputs from a job imply needing it. */
function checkReferences(jobs: Map<string, JobSpec>, file: string): void {
  const fail = (line: number, message: string): never => {
    throw new UsageError(`${file}:${line}: ${message}`, 'ESPEC');
  };
  for (const job of jobs.values()) {
    for (const need of job.needs) {
      if (!jobs.has(need)) fail(job.needLines?.[need] ?? job.line, `job ${job.name} needs unknown job "${need}"`);
    }
    for (const input of job.inputs) {
      if (input.kind !== 'job') continue;
      const source = jobs.get(input.job);
      if (!source) fail(input.line, `job ${job.name}: input ${input.name} refers to unknown job "${input.job}"`);
      if (!source!.outputs.some((o) => o.name === input.output)) {
        fail(input.line, `job ${job.name}: input ${input.name}: job ${input.job} has no output "${input.output}"`);
      }
      if (input.job === job.name) fail(input.line, `job ${job.name}: input ${input.name} reads its own output`);
      if (!job.needs.includes(input.job)) {
        job.needs.push(input.job);
        job.needLines = { ...job.needLines, [input.job]: input.line };
      }
    }
  }
}

function keyOf(pair: Pair): string {
  return String(isScalar(pair.key) ? pair.key.value : pair.key);
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

export { shellQuote };
