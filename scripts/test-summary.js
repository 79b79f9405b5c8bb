// Prints "N passed, N failed" from vitest's JSON report: the line CI reads. A run that failed in
// any way counts at least one failure: failed tests, suites that failed outside any test (a file
// that did not load, a hook that threw), errors between tests, or a report that says it failed.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/vitest.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof report !== 'object' || report === null || !Number.isInteger(report.numPassedTests)) throw new Error();
} catch {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const suites = report.testResults ?? [];
// A suite that failed with no failed test in it failed outside any test.
const brokenSuites = suites.filter(
  (s) => s.status === 'failed' && !(s.assertionResults ?? []).some((a) => a.status === 'failed'),
).length;
let failed = report.numFailedTests + (report.numRuntimeErrorTests ?? 0) + brokenSuites;
if (!report.success && failed === 0) failed = 1;
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(report.success && failed === 0 ? 0 : 1);
