// Ctrl-C during a put: exit 130 with one line saying so, the catalog consistent, and running
// the same put again finishes the version. SIGINT is sent at a fixed point (src/core/faults.ts).
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata } from '../helpers/cli.js';
import { assertBuilt, expectErrorLine, expectJsonError } from '../helpers/expect-cli.js';
import { createDataset, listFilesJson, openVersion, put } from '../helpers/fixtures.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree } from '../helpers/tree.js';

const fresh = tempDirs('strata-interrupt-');
const FILES = 1200;

beforeAll(assertBuilt);

describe.concurrent('Ctrl-C during a put', () => {
  it.for([{ json: false }, { json: true }])(
    'exits 130 with one line (json: $json), keeps what was stored, and the same put finishes it',
    async ({ json }) => {
      const o = { home: fresh() };
      const src = join(fresh(), 'data');
      makeTree(src, { count: FILES, seed: 7, maxSize: 1024 });
      await createDataset(o);
      const v = await openVersion(o, 'demo');
      const args = ['datasets', 'files', 'put', '--id', v.ref, '--source-path', `${src}/`, ...(json ? ['--json'] : [])];
      const interrupted = await strata(args, {
        ...o,
        env: { STRATA_FAULT: 'put:after-batch:1', STRATA_FAULT_SIGNAL: 'SIGINT' },
      });
      if (json) expect(expectJsonError(interrupted, 130).code).toBe('EINTERRUPTED');
      else expect(expectErrorLine(interrupted, 130)).toMatch(/^Error: interrupted; .*run the same command again/);

      const kept = await listFilesJson(o, v.ref);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(FILES);

      const resumed = await put(o, v.ref, `${src}/`);
      expect(resumed.files).toBe(FILES);
      expect(await listFilesJson(o, v.ref)).toHaveLength(FILES);
    },
  );
});
