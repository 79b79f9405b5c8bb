import { crc32, deflateRawSync } from 'node:zlib';

/** A tiny zip writer (stored entries, or deflated ones), for archives no zip tool would make. */
export interface ZipEntry {
  /** written as given: "../evil.txt" and "/abs" included */
  name: string;
  content?: Buffer | string;
  /** permission bits (default 0o644; 0o755 for directories) */
  mode?: number;
  /** stored as a symlink pointing here (external attributes 0o120777 << 16) */
  symlink?: string;
  /** default 2024-01-01T00:00:00Z; kept to the second in an Info-ZIP "UT" extra field */
  mtime?: Date;
  /** compressed (method 8) rather than stored */
  deflate?: boolean;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const MADE_BY_UNIX = (3 << 8) | 30;

function dosDateTime(date: Date): { time: number; date: number } {
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    date: ((date.getFullYear() - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

export function zip(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const isDir = entry.name.endsWith('/');
    const name = Buffer.from(entry.name, 'utf8');
    const data = Buffer.from(entry.symlink ?? entry.content ?? '');
    const mtime = entry.mtime ?? new Date(Date.UTC(2024, 0, 1));
    const dos = dosDateTime(mtime);
    const type = entry.symlink !== undefined ? S_IFLNK : isDir ? S_IFDIR : S_IFREG;
    const mode = entry.symlink !== undefined ? 0o777 : (entry.mode ?? (isDir ? 0o755 : 0o644));
    const external = (((type | mode) << 16) >>> 0) | (isDir ? 0x10 : 0);
    const extra = Buffer.alloc(9);
    extra.writeUInt16LE(0x5455, 0); // "UT": mtime in seconds
    extra.writeUInt16LE(5, 2);
    extra.writeUInt8(1, 4);
    extra.writeInt32LE(Math.floor(mtime.getTime() / 1000), 5);
    const crc = crc32(data);
    const method = entry.deflate ? 8 : 0;
    const stored = entry.deflate ? deflateRawSync(data) : data;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(10, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(dos.time, 10);
    local.writeUInt16LE(dos.date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    locals.push(local, name, extra, stored);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    central.writeUInt16LE(10, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(dos.time, 12);
    central.writeUInt16LE(dos.date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(stored.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt16LE(0, 32); // comment length
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE(external >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name, extra);

    offset += local.length + name.length + extra.length + stored.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
