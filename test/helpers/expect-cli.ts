import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { strata, type CliOptions, type CliResult } from './cli.js';

export const ROOT = resolve(import.meta.dirname, '../..');

/**
 * The e2e suites spawn the built binary; `npm test` builds it first (pretest). This builds nothing:
 * it only fails early, with the fix in the message, when there is no build to test.
 */
export function assertBuilt(): void {
  for (const path of ['dist/cli.cjs', '.oclif.manifest.json']) {
    if (!existsSync(join(ROOT, path))) {
      throw new Error(`${path} is missing: run \`npm run build\` (npm test does it in pretest)`);
    }
  }
}

/** A failure as a person sees it: the exit code of its class, nothing on stdout, one `Error: ` line on stderr. */
export function expectErrorLine(result: CliResult, exitCode: number): string {
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code: exitCode, stdout: '' });
  const lines = result.stderr.split('\n');
  expect(lines.at(-1)).toBe('');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^Error: \S/);
  return lines[0]!;
}

export interface JsonError {
  code: string;
  message: string;
}

/** A failure under --json: the same exit code, stdout only the error object, stderr empty. */
export function expectJsonError(result: CliResult, exitCode: number): JsonError {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: exitCode, stderr: '' });
  const parsed = JSON.parse(result.stdout) as { error: JsonError };
  expect(Object.keys(parsed)).toEqual(['error']);
  expect(Object.keys(parsed.error).sort()).toEqual(['code', 'message']);
  expect(parsed.error.code).toMatch(/^E[A-Z]+$/);
  expect(parsed.error.message).not.toBe('');
  expect(parsed.error.message).not.toContain('\n');
  return parsed.error;
}

/**
 * Runs a command that must fail, twice: as a person types it and with --json. Both must give the
 * exit code of the failure's class; returns the stderr line and the JSON error.
 */
export async function expectFailure(
  args: string[],
  options: CliOptions,
  exitCode: number,
): Promise<{ line: string; error: JsonError }> {
  const line = expectErrorLine(await strata(args, options), exitCode);
  const error = expectJsonError(await strata([...args, '--json'], options), exitCode);
  expect(line).toBe(`Error: ${error.message}`);
  return { line, error };
}
