import { isMap, isScalar, type Node, type Pair, type YAMLMap } from 'yaml';
import { parseDuration } from '../core/config.js';

/** What a job asks of a cluster node (`resources:` in a spec); only the Slurm executor uses it. */
export interface Resources {
  cpus?: number;
  /** Slurm's form: a number and a unit, K, M, G or T (M when none) */
  memory?: string;
  gpus?: number;
  /** minutes */
  timeMinutes?: number;
  /** where `resources:` is in the spec, for errors Slurm finds */
  line?: number;
}

type Fail = ((node: Node | Pair | null | undefined, message: string) => never) & {
  lineOf: (node: Node | Pair | null | undefined) => number;
};

const KEYS = ['cpus', 'memory', 'gpus', 'time'];
const MEMORY = /^([1-9][0-9]*)\s*([KMGT])?i?B?$/i;
/** Slurm's own time forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS */
const SLURM_TIME = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/;

/** `resources: {cpus, memory, gpus, time}` of job `job`; an unknown key or a bad value is a spec error. */
export function parseResources(job: string, pair: Pair, fail: Fail): Resources {
  const map = pair.value as Node | null;
  if (!isMap(map)) return fail(pair, `job ${job}: "resources" must map ${KEYS.join(', ')} to values`);
  const r: Resources = { line: fail.lineOf(pair) };
  for (const item of (map as YAMLMap).items) {
    const key = String(isScalar(item.key) ? item.key.value : item.key);
    const value = isScalar(item.value) ? item.value.value : undefined;
    const bad = (why: string): never => fail(item, `job ${job}: resources.${key} ${why}`);
    if (key === 'cpus' || key === 'gpus') {
      const n = typeof value === 'number' ? value : Number.NaN;
      if (!Number.isInteger(n) || n < (key === 'cpus' ? 1 : 0))
        bad(`must be a whole number${key === 'cpus' ? ' ≥ 1' : ''}`);
      r[key] = n;
    } else if (key === 'memory') {
      const m = MEMORY.exec(String(value ?? ''));
      if (!m || typeof value === 'boolean') bad('must be a size such as 512M, 16G or 1T');
      r.memory = `${m![1]}${(m![2] ?? 'M').toUpperCase()}`;
    } else if (key === 'time') {
      r.timeMinutes = parseTime(value) ?? bad('must be an interval (30m, 2h, 1d) or Slurm time (HH:MM:SS, D-HH:MM)');
    } else fail(item, `job ${job}: unknown resource "${key}" (resources are ${KEYS.join(', ')})`);
  }
  return r;
}

function parseTime(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  if (typeof value !== 'string') return undefined;
  const slurm = SLURM_TIME.exec(value);
  if (slurm) {
    const [, d, a, b, c] = slurm.map((x) => (x === undefined ? undefined : Number(x)));
    // MM, MM:SS and HH:MM:SS without days; D-HH, D-HH:MM, D-HH:MM:SS with them.
    const minutes =
      d !== undefined
        ? d * 1440 + a! * 60 + (b ?? 0) + Math.ceil((c ?? 0) / 60)
        : c !== undefined
          ? a! * 60 + b! + Math.ceil(c / 60)
          : a! + Math.ceil((b ?? 0) / 60);
    return minutes > 0 ? minutes : undefined;
  }
  try {
    return Math.max(1, Math.ceil(parseDuration(value) / 60_000));
  } catch {
    return undefined;
  }
}

/** The sbatch options that ask for these resources. */
export function sbatchResourceArgs(r: Resources | undefined): string[] {
  if (!r) return [];
  return [
    ...(r.cpus === undefined ? [] : [`--cpus-per-task=${r.cpus}`]),
    ...(r.memory === undefined ? [] : [`--mem=${r.memory}`]),
    ...(r.gpus ? [`--gres=gpu:${r.gpus}`] : []),
    ...(r.timeMinutes === undefined ? [] : [`--time=${r.timeMinutes}`]),
  ];
}
