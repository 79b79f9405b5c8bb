import { readdir, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { failedAt } from '../core/errors.js';
import type { CacheStore } from './store.js';

/** A lease not refreshed for this long belongs to a process that died elsewhere. */
const STALE_MS = 5 * 60_000;
const REFRESH_MS = 30_000;

/**
 * A running materialization's claim on the blobs it is placing: eviction never removes a blob a
 * fresh lease names. A plain file per process (leases/<host>-<pid>-…), kept fresh by touching it,
 * works on local disks and on NFS alike, where advisory locks may not.
 */
export class Lease {
  private constructor(
    private readonly path: string,
    private readonly timer: NodeJS.Timeout,
  ) {}

  static async take(cache: CacheStore, shas: Iterable<string>): Promise<Lease> {
    const dir = join(cache.dir, 'leases');
    await cache.ensureDir(dir);
    const path = join(dir, cache.tag);
    await writeFile(path, [...new Set(shas)].join('\n'), { mode: 0o664 }).catch((error: unknown) => {
      throw failedAt(error, path);
    });
    const timer = setInterval(() => {
      const now = new Date();
      utimes(path, now, now).catch(() => undefined);
    }, REFRESH_MS);
    timer.unref();
    return new Lease(path, timer);
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await unlink(this.path).catch(() => undefined);
  }
}

/** Every blob a live lease holds. Stale leases (dead process, or not refreshed) are removed. */
export async function heldBlobs(cache: CacheStore): Promise<Set<string>> {
  const dir = join(cache.dir, 'leases');
  const held = new Set<string>();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info) continue;
    if (Date.now() - info.mtimeMs > STALE_MS || deadHere(name)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    const text = await readFile(path, 'utf8').catch(() => '');
    for (const sha of text.split('\n')) if (sha) held.add(sha);
  }
  return held;
}

/** Lease names are <host>-<pid>-<random>; on this host a missing pid means a dead holder. */
function deadHere(name: string): boolean {
  const host = hostname();
  if (!name.startsWith(`${host}-`)) return false;
  const pid = Number(name.slice(host.length + 1).split('-')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
