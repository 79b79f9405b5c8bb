import type { AppContext } from './context.js';
import { CONFIG_KEYS, isConfigKey, readConfig, writeConfig, type ConfigKey } from '../core/config.js';
import { NotFoundError, UsageError } from '../core/errors.js';

export interface ConfigEntry {
  key: ConfigKey;
  value: string | null;
  description: string;
}

function checkKey(key: string): ConfigKey {
  if (!isConfigKey(key)) {
    throw new UsageError(
      `unknown config key "${key}"; known keys: ${Object.keys(CONFIG_KEYS).join(', ')}`,
      'ECONFIGKEY',
    );
  }
  return key;
}

export function listConfig(ctx: AppContext): ConfigEntry[] {
  const config = readConfig(ctx.paths.config);
  return (Object.keys(CONFIG_KEYS) as ConfigKey[]).map((key) => ({
    key,
    value: config[key] ?? null,
    description: CONFIG_KEYS[key].description,
  }));
}

export function getConfig(ctx: AppContext, key: string): ConfigEntry {
  const k = checkKey(key);
  const value = readConfig(ctx.paths.config)[k];
  if (value === undefined) throw new NotFoundError(`config key ${k} is not set`, 'ECONFIGUNSET');
  return { key: k, value, description: CONFIG_KEYS[k].description };
}

/** Sets a key (checked by its parser), or removes it when value is undefined. */
export function setConfig(ctx: AppContext, key: string, value: string | undefined): ConfigEntry {
  const k = checkKey(key);
  const config = readConfig(ctx.paths.config);
  if (value === undefined) delete config[k];
  else config[k] = CONFIG_KEYS[k].parse(value);
  writeConfig(ctx.paths.config, config);
  return { key: k, value: config[k] ?? null, description: CONFIG_KEYS[k].description };
}
