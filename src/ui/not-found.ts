import type { Hook } from '@oclif/core/hooks';
import { ExitCode } from '../core/errors.js';

/** Edit distance (insert, delete, substitute: one each) between two command names. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/**
 * The closest command or topic to what was typed, when it is close enough to be a typo: at most a
 * third of the mistyped words differs (so "datasets lst" finds "datasets list", while "datasets
 * frobnicate" is not taken for "datasets create"). Else the deepest topic the words start with.
 */
export function suggestion(typed: string, names: string[]): { didYouMean?: string; topic?: string } {
  let best: { name: string; d: number } | undefined;
  for (const name of names) {
    const d = distance(typed, name);
    if (!best || d < best.d) best = { name, d };
  }
  if (best) {
    const known = new Set(best.name.split(' '));
    const mistyped = typed.split(' ').filter((w) => !known.has(w));
    const allowed = Math.max(1, Math.floor(mistyped.join('').length / 3));
    if (best.d <= allowed) return { didYouMean: best.name };
  }
  const words = typed.split(' ');
  for (let n = words.length - 1; n > 0; n--) {
    const prefix = words.slice(0, n).join(' ');
    if (names.includes(prefix)) return { topic: prefix };
  }
  return {};
}

/**
 * oclif's command_not_found hook: one line saying what was typed (as typed, with spaces), the
 * closest command or topic, and where to look; under --json the JSON error object on stdout. Exit 2
 * (usage). Like @oclif/plugin-not-found's suggestion, without its prompt to run the guess: scripts
 * and CI must never block on a question, and a guessed command is not what the user ran.
 */
export const commandNotFound: Hook.CommandNotFound = async function ({ id, argv, config }) {
  const sep = config.topicSeparator;
  const typed = id.split(':').join(sep);
  const names = [
    ...config.commands.filter((c) => !c.hidden).map((c) => c.id),
    ...config.topics.filter((t) => !t.hidden).map((t) => t.name),
  ].map((name) => name.split(':').join(sep));
  const { didYouMean, topic } = suggestion(typed, names);
  const hint = didYouMean
    ? `did you mean "${didYouMean}"? (see: ${config.bin} help ${didYouMean})`
    : `see: ${config.bin} help${topic ? ` ${topic}` : ''}`;
  const message = `"${typed}" is not a ${config.bin} command; ${hint}`;
  if ((argv ?? []).includes('--json')) {
    process.stdout.write(`${JSON.stringify({ error: { code: 'EUSAGE', message } }, null, 2)}\n`);
  } else {
    process.stderr.write(`Error: ${message}\n`);
  }
  process.exitCode = ExitCode.usage;
};
