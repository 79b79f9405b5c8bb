import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from './errors.js';

/**
 * `$STRATA_HOME/config.json`: settings a person chooses once. Each key is declared here with how
 * its value is checked; `strata config set` refuses anything else.
 */
export const CONFIG_KEYS = {
  'cache.dir': {
    description: 'team content cache directory (default $STRATA_CACHE_DIR or $STRATA_HOME/cache)',
    parse: parsePath,
  },
  'cache.maxSize': {
    description: 'cache size cap, e.g. 50GiB (no cap unless set)',
    parse: (v: string) => String(parseSize(v)),
  },
  concurrency: { description: 'transfers in flight by default', parse: (v: string) => String(parseCount(v)) },
  timeout: {
    description: 'give up on a storage endpoint that has not answered successfully for this long (default 88s)',
    parse: (v: string) => String(parseTimeout(v)),
  },
} as const;

/** --timeout and config `timeout`: a duration of at least a second. */
export function parseTimeout(text: string): number {
  const ms = parseDuration(text);
  if (ms < 1000) throw new UsageError(`a timeout of "${text}" is too short: give at least 1s`, 'EDURATION');
  return ms;
}

export type ConfigKey = keyof typeof CONFIG_KEYS;
export type Config = Partial<Record<ConfigKey, string>>;

export function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(CONFIG_KEYS, key);
}

export function readConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Config;
  } catch {
    throw new UsageError(`${path} is not valid JSON; fix or remove it`, 'ECONFIG');
  }
}

export function writeConfig(path: string, config: Config): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, path);
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  tib: 1024 ** 4,
};

/** "50GiB", "1.5 GB", "1048576" → bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`"${text}" is not a size (e.g. 500MiB, 50GiB, 1TB)`, 'ESIZE');
  return Math.floor(Number(m[1]) * unit);
}

/** "30s", "10m", "1h", "24h", "500ms" → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m) throw new UsageError(`"${text}" is not a duration (e.g. 30s, 10m, 24h)`, 'EDURATION');
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * scale);
}

function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UsageError(`"${text}" is not a count from 1 to 1024`);
  return n;
}

function parsePath(text: string): string {
  if (text.trim() === '') throw new UsageError('a path cannot be empty');
  return text;
}
