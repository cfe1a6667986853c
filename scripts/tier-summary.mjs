// Reads a vitest JSON report and prints one tier's closing line for CI's log reader:
//   "<tier>: N passed, N failed, N skipped, N files failed outside any test"
// Exits 1 when any test or file failed, when the report is missing, or when no test passed (a tier
// whose tests were all skipped tested nothing). Usage: node scripts/tier-summary.mjs REPORT TIER
import { readFileSync } from 'node:fs';

const [report, tier] = process.argv.slice(2);
let r;
try {
  r = JSON.parse(readFileSync(report, 'utf8'));
} catch (error) {
  console.log(
    `${tier}: no report (${error.code ?? error.message}): vitest did not finish; its output is above`,
  );
  process.exit(1);
}
const files = r.testResults ?? [];
// Failed files with no failed test in them failed outside any test (hooks, imports, collection).
const outside = files.filter(
  (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed'),
);
const skipped = r.numPendingTests + r.numTodoTests;
console.log(
  `${tier}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped, ` +
    `${outside.length} files failed outside any test`,
);
for (const file of outside) {
  const first = (
    file.message || 'a hook of a describe block failed: its error is in the vitest output above'
  ).split('\n')[0];
  console.log(`  ${file.name}: ${first}`);
}
if (r.numFailedTests > 0 || outside.length > 0 || r.numFailedTestSuites > 0) process.exit(1);
if (r.numPassedTests === 0) {
  console.log(
    `${tier}: no test passed (${r.numTotalTests} found, all skipped or none): the tier tested nothing`,
  );
  process.exit(1);
}
