// Issue 16, CI honesty: the "N passed, N failed" line CI reads never says 0 failed for a failed
// run, and any non-empty CI value counts as CI.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inCI } from '../helpers/ci.js';
import { ROOT } from '../helpers/expect-cli.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-summary-');

function summary(report: unknown): { line: string; code: number } {
  const file = join(fresh(), 'vitest.json');
  writeFileSync(file, typeof report === 'string' ? report : JSON.stringify(report));
  try {
    return {
      line: execFileSync('node', [join(ROOT, 'scripts/test-summary.js'), file], { encoding: 'utf8' }).trim(),
      code: 0,
    };
  } catch (error) {
    const e = error as { stdout: string; status: number };
    return { line: e.stdout.trim(), code: e.status };
  }
}

const base = {
  numPassedTests: 3,
  numFailedTests: 0,
  numPendingTests: 0,
  numTodoTests: 0,
  success: true,
  testResults: [],
};
const suite = (status: string, ...assertions: string[]) => ({
  status,
  assertionResults: assertions.map((s) => ({ status: s })),
});

describe('scripts/test-summary.js', () => {
  it('all passed: "3 passed, 0 failed", exit 0', () => {
    expect(summary({ ...base, testResults: [suite('passed', 'passed', 'passed', 'passed')] })).toEqual({
      line: '3 passed, 0 failed',
      code: 0,
    });
  });

  it('failed tests are counted', () => {
    const report = { ...base, numFailedTests: 2, success: false, testResults: [suite('failed', 'failed', 'failed')] };
    expect(summary(report)).toEqual({ line: '3 passed, 2 failed', code: 1 });
  });

  it('a suite that failed outside any test (it did not load, a hook threw) counts as a failure', () => {
    const report = { ...base, success: false, testResults: [suite('passed', 'passed'), suite('failed')] };
    expect(summary(report)).toEqual({ line: '3 passed, 1 failed', code: 1 });
  });

  it('errors between tests count, and a report that says it failed is never "0 failed"', () => {
    expect(summary({ ...base, numRuntimeErrorTests: 1, success: false })).toEqual({
      line: '3 passed, 1 failed',
      code: 1,
    });
    expect(summary({ ...base, success: false })).toEqual({ line: '3 passed, 1 failed', code: 1 });
  });

  it('no report, or not one of vitest: "0 passed, 1 failed"', () => {
    expect(summary('not json')).toEqual({ line: '0 passed, 1 failed', code: 1 });
    expect(summary('{"something": "else"}')).toEqual({ line: '0 passed, 1 failed', code: 1 });
  });
});

describe('inCI', () => {
  it('counts any non-empty CI value', () => {
    expect(['true', '1', 'yes', 'false'].map((CI) => inCI({ CI }))).toEqual([true, true, true, true]);
    expect([inCI({}), inCI({ CI: '' })]).toEqual([false, false]);
  });
});
