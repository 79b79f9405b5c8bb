/**
 * A hand-made ustar writer for archives node-tar's create will not produce: it strips "../" and
 * leading "/" from names, which is exactly what hostile archives contain.
 */

export interface RawTarEntry {
  name: string;
  /** '0' file (default), '1' hard link, '2' symlink, '3' character device, '5' directory, '6' FIFO */
  type?: '0' | '1' | '2' | '3' | '5' | '6';
  content?: Buffer | string;
  linkname?: string;
  mode?: number;
  /** seconds since the epoch */
  mtime?: number;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`"${value}" does not fit in ${length} bytes`);
  bytes.copy(block, offset);
}

/** An octal number of length-1 digits and a NUL, as ustar numeric fields are written. */
function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  writeString(block, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

/** One 512-byte ustar header, with a correct checksum. */
export function tarHeader(entry: RawTarEntry, size: number): Buffer {
  const block = Buffer.alloc(512);
  writeString(block, 0, 100, entry.name);
  writeOctal(block, 100, 8, entry.mode ?? 0o644);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, entry.mtime ?? 1_700_000_000);
  block.write(' '.repeat(8), 148, 'latin1'); // the checksum counts its own field as spaces
  block.write(entry.type ?? '0', 156, 'latin1');
  writeString(block, 157, 100, entry.linkname ?? '');
  block.write('ustar\x0000', 257, 'latin1');
  writeString(block, 265, 32, 'root');
  writeString(block, 297, 32, 'root');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** A whole tar archive: each header, its content padded to 512 bytes, then two zero blocks. */
export function rawTar(entries: readonly RawTarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? '');
    parts.push(tarHeader(entry, content.length), content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
