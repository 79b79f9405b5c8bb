// Writes docs/commands.md from the oclif manifest the build generates, so the reference never
// drifts from the code. `--check` fails when the committed file is stale (a test runs it).
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('.oclif.manifest.json', root), 'utf8'));
const ids = Object.keys(manifest.commands).sort();

const lines = [
  '# Command reference',
  '',
  'Generated from the CLI itself by `node scripts/command-docs.js` (after `npm run build`); do not edit by hand.',
  'Every command accepts `--json` (result, or `{"error": {"code", "message"}}`, on stdout) and `--help`.',
  '',
];
for (const id of ids) {
  const c = manifest.commands[id];
  const name = id.replaceAll(':', ' ');
  lines.push(`## strata ${name}`, '', c.summary ?? '', '');
  if (c.description) lines.push(c.description, '');
  const flags = Object.values(c.flags).filter((f) => f.name !== 'json');
  if (flags.length) {
    lines.push('| flag | meaning |', '| --- | --- |');
    for (const f of flags) {
      const req = f.required ? ' (required)' : '';
      const many = f.multiple ? ' (repeatable)' : '';
      const dflt = f.default !== undefined && f.type === 'option' ? ` (default: \`${f.default}\`)` : '';
      const value = f.type === 'option' ? ` ${f.options ? f.options.join('|') : 'VALUE'}` : '';
      lines.push(`| \`--${f.name}${value}\` | ${(f.description ?? '').replaceAll('|', '\\|')}${req}${many}${dflt} |`);
    }
    lines.push('');
  }
  if (c.examples?.length) {
    lines.push('```sh');
    for (const e of c.examples)
      lines.push((typeof e === 'string' ? e : e.command).replaceAll('<%= config.bin %>', 'strata'));
    lines.push('```', '');
  }
  if (c.hiddenAliases?.length)
    lines.push(`Also accepted: ${c.hiddenAliases.map((a) => `\`strata ${a.replaceAll(':', ' ')}\``).join(', ')}`, '');
}
const text = lines.join('\n');
const target = new URL('docs/commands.md', root);
if (process.argv.includes('--check')) {
  if (readFileSync(target, 'utf8') !== text) {
    console.error('docs/commands.md is stale: run npm run build && node scripts/command-docs.js');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
}
