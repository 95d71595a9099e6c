// What the browser scripts share: their settings from the environment, and one Chromium session
// whose checks and axe findings are collected, kept under the artefacts directory and printed.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { launchChromium } from './browser.mjs';
import { Checks } from './checks.mjs';

export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (survey_form_test.sh sets it)`);
  return value;
}

function printFindings(findings) {
  const seen = findings.flatMap(({ page, violations }) =>
    violations.map((v) => `  ${v.impact} ${v.id} on ${page}: ${v.help} (${v.nodes.join(', ')})`));
  console.log(`axe (WCAG 2.1 A/AA) on ${findings.length} pages: ` +
              (seen.length === 0 ? 'no violations of any impact' : `${seen.length} violations`));
  for (const line of seen) console.log(line);
  const review = new Set(findings.flatMap(({ incomplete }) => incomplete.map((r) => r.id)));
  if (review.size > 0) console.log(`axe could not decide (for a person to review): ${[...review].join(', ')}`);
}

// Runs `body(browser, ctx)` in a fresh headless Chromium (CHROMIUM), ctx being { checks,
// findings, artefacts } (ARTEFACTS_DIR); keeps axe's findings there as `findingsFile` and
// prints them. An exception is one failure. Resolves to { checks, findings, seconds }.
export async function inChromium(findingsFile, body) {
  const checks = new Checks();
  const findings = [];
  const started = Date.now();
  try {
    const artefacts = required('ARTEFACTS_DIR');
    const browser = await launchChromium(required('CHROMIUM'));
    try {
      await body(browser, { checks, findings, artefacts });
    } finally {
      await browser.close();
    }
    await writeFile(path.join(artefacts, findingsFile), JSON.stringify(findings, null, 2));
  } catch (error) {
    checks.fail(error.message);
  }
  printFindings(findings);
  return { checks, findings, seconds: ((Date.now() - started) / 1000).toFixed(1) };
}
