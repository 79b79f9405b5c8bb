import { mkdtempSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../src/core/errors.js';
import { LocalBackend } from '../../src/storage/local.js';
import { backendContract } from '../helpers/backend-contract.js';
import { statFiles } from '../helpers/snapshot.js';

function makeLocal(): { root: string; backend: LocalBackend; cleanup(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'strata-local-'));
  const root = join(dir, 'storage');
  return { root, backend: new LocalBackend(root), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

backendContract('local', async () => makeLocal());

describe('LocalBackend', () => {
  it('keeps an object as a file at its key under the root, with no temp files left', async () => {
    const { root, backend, cleanup } = makeLocal();
    try {
      await backend.put('blobs/sha256/ab/abcdef', Buffer.from('content'));
      await backend.put('blobs/sha256/ab/abcdef', Buffer.from('again'), { ifNoneMatch: true }).catch(() => undefined);
      await backend.put('tags/t.json', Buffer.from('1'));
      await backend.put('tags/t.json', Buffer.from('2'), { ifMatch: 'stale' }).catch(() => undefined);
      expect(statFiles(root).map((f) => f.path)).toEqual(['blobs/sha256/ab/abcdef', 'tags/t.json']);
      expect(readdirSync(join(root, 'blobs/sha256/ab'))).toEqual(['abcdef']);
    } finally {
      await cleanup();
    }
  });

  it.each(['../escape', 'a/../../escape', '/etc/passwd', 'a//b', 'a/'])('refuses the unsafe key %j', async (key) => {
    const { root, backend, cleanup } = makeLocal();
    try {
      await expect(backend.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(StorageError);
      await expect(backend.get(key)).rejects.toBeInstanceOf(StorageError);
      await expect(backend.head(key)).rejects.toBeInstanceOf(StorageError);
      await expect(backend.delete([key])).rejects.toBeInstanceOf(StorageError);
      expect(statFiles(join(root, '..'))).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('lists nothing, and verify() creates the root, when the directory does not exist yet', async () => {
    const { root, backend, cleanup } = makeLocal();
    try {
      const keys = [];
      for await (const object of backend.list('')) keys.push(object.key);
      expect(keys).toEqual([]);
      await backend.verify();
      expect(readdirSync(root)).toEqual([]);
    } finally {
      await cleanup();
    }
  });
});
