import { createRequire } from 'node:module';
import type TableType from 'cli-table3';

// Loaded when a table is drawn: a command that prints JSON never needs it.
const load = (): typeof TableType => createRequire(import.meta.url)('cli-table3') as typeof TableType;

/** No rule between rows: one line per row, so a long listing reads (and greps) line by line. */
const COMPACT = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/**
 * A table for people; plain (no colour codes) when stdout is not a terminal. Listings are compact;
 * `ruled` keeps a rule between rows, for values that span lines.
 */
export function table(head: string[], rows: (string | number)[][], ruled = false): string {
  const Table = load();
  const t = new Table({
    head,
    ...(ruled ? {} : { chars: COMPACT }),
    style: process.stdout.isTTY ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] },
  });
  t.push(...rows.map((r) => r.map(String)));
  return t.toString();
}

/** Two columns of label and value, for `details` commands. */
export function details(pairs: [string, string | number | boolean | null | undefined][]): string {
  return table(
    ['Field', 'Value'],
    pairs.map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]),
    true,
  );
}

export { formatBytes } from '../core/bytes.js';
