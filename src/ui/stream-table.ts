/**
 * A table drawn as its rows come, in the look of table.ts (compact, no rule between rows): for
 * listings too long to hold, a million files of a version. Column widths are given up front; a
 * cell wider than its column is not cut (its line runs long rather than lose characters).
 */
export function* streamTable(head: string[], widths: number[], rows: Iterable<string[]>): Generator<string> {
  const rule = (left: string, middle: string, right: string): string =>
    `${left}${widths.map((w) => '─'.repeat(w + 2)).join(middle)}${right}`;
  const line = (cells: string[]): string => `│${cells.map((c, i) => ` ${c.padEnd(widths[i]!)} `).join('│')}│`;
  yield rule('┌', '┬', '┐');
  yield line(head);
  for (const row of rows) yield line(row);
  yield rule('└', '┴', '┘');
}
