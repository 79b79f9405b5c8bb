// The digest every timed get is checked by: one sha256 over each file's path, type and mode, size
// and content sha256, the tree walked in sorted order one directory at a time and each file read
// in 1 MiB pieces, so a million-file tree takes one directory listing and one buffer of memory.
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const piece = Buffer.allocUnsafe(2 ** 20);

function hashFile(path) {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, piece, 0, piece.length, null)) > 0;) hash.update(piece.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * { files, bytes, digest } of the tree under ROOT: regular files by path, type, mode, size and
 * content; anything else (a symlink, a socket) by path and type. Directories count only through
 * the paths below them. `modes: false` leaves the permission bits out (a `--link hardlink` get
 * shares the cache's read-only inodes).
 */
export function digestTree(root, { modes = true } = {}) {
  const tree = createHash('sha256');
  let files = 0;
  let bytes = 0;
  const walk = (rel) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path));
      if (st.isDirectory()) {
        walk(path);
        continue;
      }
      const mode = (modes ? st.mode : st.mode & ~0o7777).toString(8);
      const content = st.isFile() ? `${st.size}\0${hashFile(join(root, path))}` : '-';
      tree.update(`${path}\0${mode}\0${content}\n`);
      if (st.isFile()) [files, bytes] = [files + 1, bytes + st.size];
    }
  };
  walk('');
  return { files, bytes, digest: tree.digest('hex') };
}

/** The digest of a data set's own tree, taken once per run (and kept on it, for the results). */
export function referenceDigest(data, modes = true) {
  const key = modes ? 'digest' : 'digestWithoutModes';
  data[key] ??= digestTree(data.dir, { modes });
  return data[key];
}
