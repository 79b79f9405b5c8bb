import { describe, expect, it } from 'vitest';
import { ShaSet } from '../../src/catalog/sha-set.js';

const sha = (i: number): string => i.toString(16).padStart(64, '0');

describe('the set of referenced sha256s, on disk', () => {
  it('answers has() for what was added, counts each sha once, and holds more than its page cache', () => {
    const set = new ShaSet();
    try {
      // 60,000 keys: ~5 MB of rows, more than SQLite's ~2 MB page cache, so pages go to its file.
      const n = 60_000;
      set.addAll(Array.from({ length: n }, (_, i) => sha(i * 2)));
      set.addAll([sha(0), sha(2), sha(4)]); // named again by another manifest
      expect(set.size).toBe(n);
      expect(set.has(sha(0))).toBe(true);
      expect(set.has(sha((n - 1) * 2))).toBe(true);
      expect(set.has(sha(1))).toBe(false);
      expect(set.has(sha(n * 2))).toBe(false);
    } finally {
      set.close();
    }
  });
});
