import { extname } from 'node:path';

/**
 * What the page shows of a file. Images are shown from the content endpoint, inline only for
 * raster types a browser cannot run script in (never SVG); text, CSV and JSON as their first
 * rows; anything else as a hex dump of its head. Each is data for the page to render as text:
 * nothing of a file ever reaches the page as markup.
 */
export type Preview =
  | { kind: 'image' }
  | { kind: 'text'; text: string; truncated: boolean }
  | { kind: 'json'; text: string; truncated: boolean }
  | { kind: 'csv'; rows: string[][]; truncated: boolean }
  | { kind: 'hex'; lines: string[]; truncated: boolean }
  | { kind: 'none'; reason: string };

/** Files this large are not previewed: every byte shown is checked first, which means reading all of it. */
export const PREVIEW_MAX_BYTES = 16 * 1024 * 1024;
const TEXT_HEAD = 64 * 1024;
const CSV_ROWS = 50;
const HEX_HEAD = 512;

/** Raster image types served inline (by extension; nosniff keeps the browser to it). */
const IMAGE_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.avif': 'image/avif',
};

export const inlineImageType = (path: string): string | undefined => IMAGE_TYPES[extname(path).toLowerCase()];

export function previewOf(path: string, bytes: Buffer): Preview {
  if (inlineImageType(path)) return { kind: 'image' };
  const ext = extname(path).toLowerCase();
  const head = bytes.subarray(0, TEXT_HEAD);
  const text = asText(head, bytes.length > TEXT_HEAD);
  if (text === undefined) return hexOf(bytes);
  const truncated = bytes.length > TEXT_HEAD;
  if (ext === '.csv' || ext === '.tsv')
    return { kind: 'csv', rows: csvRows(text, ext === '.tsv' ? '\t' : ','), truncated };
  if (ext === '.json' && !truncated) {
    try {
      return { kind: 'json', text: JSON.stringify(JSON.parse(text), null, 2), truncated };
    } catch {
      return { kind: 'text', text, truncated };
    }
  }
  return { kind: 'text', text, truncated };
}

/** UTF-8 text without NUL bytes, or undefined; a character cut at the end of a head is dropped. */
function asText(head: Buffer, cut: boolean): string | undefined {
  if (head.includes(0)) return undefined;
  let end = head.length;
  if (cut) while (end > 0 && end > head.length - 4 && (head[end - 1]! & 0xc0) === 0x80) end--;
  if (cut && end > 0 && head[end - 1]! >= 0xc0) end--;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, end));
  } catch {
    return undefined;
  }
}

function hexOf(bytes: Buffer): Preview {
  const head = bytes.subarray(0, HEX_HEAD);
  const lines: string[] = [];
  for (let at = 0; at < head.length; at += 16) {
    const row = head.subarray(at, at + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return { kind: 'hex', lines, truncated: bytes.length > HEX_HEAD };
}

/** The first rows of CSV (RFC 4180 quoting), as cells. */
export function csvRows(text: string, separator: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length && rows.length < CSV_ROWS; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === separator) {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if ((cell !== '' || row.length > 0) && rows.length < CSV_ROWS) rows.push([...row, cell]);
  return rows;
}
