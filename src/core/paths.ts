import { homedir } from 'node:os';
import { join } from 'node:path';

export interface StrataPaths {
  home: string;
  catalog: string;
  config: string;
  localStorage: string;
}

export function strataPaths(env: NodeJS.ProcessEnv = process.env): StrataPaths {
  const home = env.STRATA_HOME || join(homedir(), '.strata');
  return {
    home,
    catalog: join(home, 'catalog.db'),
    config: join(home, 'config.json'),
    localStorage: join(home, 'storage'),
  };
}
