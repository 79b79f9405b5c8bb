import { homedir } from 'node:os';
import { join } from 'node:path';

export interface StrataPaths {
  home: string;
  catalog: string;
  config: string;
  localStorage: string;
  /** spooled downloads, uploads and bucket documents on their way */
  tmp: string;
}

export function strataPaths(env: NodeJS.ProcessEnv = process.env): StrataPaths {
  const home = env.STRATA_HOME || join(homedir(), '.strata');
  return {
    home,
    catalog: join(home, 'catalog.db'),
    config: join(home, 'config.json'),
    localStorage: join(home, 'storage'),
    tmp: join(home, 'tmp'),
  };
}
