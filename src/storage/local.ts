import { createReadStream, createWriteStream } from 'node:fs';
import {
  access,
  constants,
  copyFile,
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isLocalFile, type ObjectInfo, type PutBody, type PutOptions, type StorageBackend } from './backend.js';
import { environmentFailure, NotFoundError, PreconditionFailedError, StorageError } from '../core/errors.js';
import { sweepAbandonedTemps, tempName } from '../core/temp-name.js';
import { formatToken, isAlive, thisProcess } from '../core/process-token.js';

const TEMP_PREFIX = '.tmp-';

/** The built-in provider: objects are files under a directory, written via temp file + rename. */
export class LocalBackend implements StorageBackend {
  /** directories this process has written into (made, and swept of abandoned temp files) */
  private readonly dirs = new Set<string>();

  constructor(private readonly root: string) {}

  get location(): string {
    return this.root;
  }

  /** The file that holds an object (it may not exist): the cache links blobs from here. */
  fileOf(key: string): string {
    return this.pathOf(key);
  }

  private pathOf(key: string): string {
    if (key.split('/').some((s) => s === '..' || s === '') || key.startsWith('/')) {
      throw new StorageError(`refusing unsafe object key "${key}"`);
    }
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<{ etag: string }> {
    const path = this.pathOf(key);
    const dir = dirname(path);
    if (!this.dirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      sweepAbandonedTemps(dir, TEMP_PREFIX); // writes of a put that was killed
      this.dirs.add(dir);
    }
    const temp = `${dir}/${tempName(TEMP_PREFIX)}`;
    try {
      if (Buffer.isBuffer(body)) await writeFile(temp, body, { signal: options.signal });
      else if (isLocalFile(body)) await copyFile(body.file, temp);
      else await pipeline(body, createWriteStream(temp), { signal: options.signal });
      if (options.ifNoneMatch) {
        // link() fails if the target exists: an atomic create-if-absent.
        await link(temp, path).catch((error: NodeJS.ErrnoException) => {
          throw error.code === 'EEXIST' ? new PreconditionFailedError(key) : error;
        });
      } else if (options.ifMatch !== undefined) {
        await this.withLock(path, async () => {
          const current = await this.head(key);
          if (current?.etag !== options.ifMatch) throw new PreconditionFailedError(key);
          await rename(temp, path);
        });
      } else {
        await rename(temp, path);
      }
      return { etag: etagOf(await stat(path)) };
    } catch (error) {
      throw wrap(error, `writing ${key}`);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const path = this.pathOf(key);
    const stream = createReadStream(path, { start: range?.start, end: range?.end, highWaterMark: 1 << 20 });
    try {
      await new Promise((opened, failed) => {
        stream.once('open', opened);
        stream.once('error', failed);
      });
      return stream;
    } catch (error) {
      throw wrap(error, `reading ${key}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { key, size: s.size, etag: etagOf(s), lastModified: s.mtime } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw wrap(error, `reading ${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const dir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const keys: string[] = [];
    await this.walk(dir === '' ? this.root : this.pathOf(dir), keys);
    keys.sort();
    for (const key of keys) {
      if (!key.startsWith(prefix)) continue;
      const info = await this.head(key);
      if (info) yield info;
    }
  }

  private async walk(dir: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw wrap(error, `listing ${dir}`);
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await this.walk(path, out);
      else if (entry.isFile() && !entry.name.startsWith(TEMP_PREFIX)) {
        out.push(relative(this.root, path).split(sep).join('/'));
      }
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      await unlink(this.pathOf(key)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw wrap(error, `deleting ${key}`);
      });
    }
  }

  async verify(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, constants.W_OK);
    } catch (error) {
      throw wrap(error, `using ${this.root}`);
    }
  }

  close(): void {}

  /**
   * A lock file held around a compare-and-swap, so two processes cannot both move a tag. It names
   * its holder: one left by a process that was killed is taken over.
   */
  private async withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const lock = `${path}.lock`;
    for (let attempt = 0; ; attempt++) {
      try {
        await writeFile(lock, formatToken(thisProcess()), { flag: 'wx' });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 200) throw error;
        const holder = await readFile(lock, 'utf8').catch(() => '');
        if (holder !== '' && !isAlive(holder)) await unlink(lock).catch(() => undefined);
        else await sleep(10);
      }
    }
    try {
      return await fn();
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }
}

/** Any rewrite goes through rename, so a new inode or mtime marks a new version of the object. */
const etagOf = (s: { ino: number; mtimeMs: number; size: number }): string =>
  `${s.ino.toString(16)}-${Math.round(s.mtimeMs * 1000).toString(16)}-${s.size.toString(16)}`;

function wrap(error: unknown, doing: string): Error {
  if (error instanceof PreconditionFailedError || error instanceof StorageError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new NotFoundError(`no such object while ${doing}`, 'ENOKEY');
  if (code === 'ABORT_ERR') return error as Error;
  // A full disk, a permission, a read-only filesystem: this machine's, said as such.
  const local = environmentFailure(error);
  if (local) return local;
  return new StorageError(`local storage failed ${doing}: ${(error as Error).message}`, { cause: error });
}
