import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { setMtimeMs } from '../../src/core/mtime.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-mtime-');

it('setMtimeMs sets exactly the millisecond given, as Math.floor(stat.mtimeMs) reads it back', async () => {
  const path = join(fresh(), 'f');
  writeFileSync(path, 'x');
  const wrong: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const ms = Date.UTC(2024, 0, 1) + i * 1_001_037 + (i % 1000);
    await setMtimeMs(path, ms);
    if (Math.floor(statSync(path).mtimeMs) !== ms) wrong.push(ms);
  }
  expect(wrong).toEqual([]);
});
