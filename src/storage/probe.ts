import { randomBytes } from 'node:crypto';
import { PreconditionFailedError } from '../core/errors.js';
import type { StorageBackend } from './backend.js';

/**
 * Whether a server honours If-None-Match on writes (some S3-compatible servers ignore it): a
 * throwaway key is written twice with it; the second write must be refused.
 */
export async function supportsConditionalWrites(backend: StorageBackend): Promise<boolean> {
  const key = `.strata-probe/${randomBytes(8).toString('hex')}`;
  try {
    await backend.put(key, Buffer.from('probe'), { ifNoneMatch: true });
    try {
      await backend.put(key, Buffer.from('probe'), { ifNoneMatch: true });
      return false;
    } catch (error) {
      if (error instanceof PreconditionFailedError) return true;
      throw error;
    }
  } finally {
    await backend.delete([key]).catch(() => undefined);
  }
}
