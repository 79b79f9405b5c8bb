// The layer rules of eslint.config.js, as `npm run check` applies them: an import of each folder
// of src from each other is planted in a file of that folder and linted.
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { LAYERS } from '../../eslint.config.js';

const ROOT = join(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: ROOT });
const allowedOf = LAYERS;
const layers = Object.keys(allowedOf);

/** The no-restricted-imports messages for `import type { X } from '../<to>/planted.js'` in src/<from>/. */
async function planted(from: string, to: string, depth = 1): Promise<string[]> {
  const code = `import type { X } from '${'../'.repeat(depth)}${to}/planted.js';\nexport type Y = X;\n`;
  const [result] = await eslint.lintText(code, {
    filePath: join(ROOT, 'src', from, ...Array(depth - 1).fill('sub'), 'planted.ts'),
  });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layers of src, enforced by npm run check', () => {
  it.each(layers.map((from) => ({ from })))('$from imports exactly the layers it is allowed', async ({ from }) => {
    const allowed = allowedOf[from]!;
    for (const to of layers.filter((l) => l !== from)) {
      const messages = await planted(from, to);
      if (allowed.includes(to)) expect(messages, `${from} → ${to}`).toEqual([]);
      else expect(messages, `${from} → ${to}`).toEqual([expect.stringContaining(`${from} may not import ${to}`)]);
    }
  });

  it('a command deep in its topic may not reach past services either', async () => {
    expect(await planted('commands', 'catalog', 3)).toEqual([
      expect.stringContaining('commands may not import catalog'),
    ]);
    expect(await planted('commands', 'services', 3)).toEqual([]);
  });
});
