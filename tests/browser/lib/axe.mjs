// axe-core's WCAG 2.1 A and AA rules on the page as shown.
//
// The form's Content-Security-Policy (default-src 'none') blocks every <script> element, so
// page.addScriptTag could not load axe. page.evaluate does not go through the page's CSP: it
// runs the source over the DevTools protocol (Runtime.evaluate), like a line typed in the
// DevTools console. So axe runs on the page exactly as served, without setBypassCSP.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const blocking = new Set(['serious', 'critical']);

// Runs axe on `page`; every serious or critical violation is a failure. Every violation, of any
// impact, is added to `findings` (what the test prints and keeps) under `name`, and so are the
// rules axe could not decide by itself ("incomplete": for a person to look at, not failures).
export async function checkAccessibility(page, name, checks, findings) {
  if (await page.evaluate(() => typeof window.axe === 'undefined')) {
    await page.evaluate(axeSource);
  }
  const { violations, incomplete } = await page.evaluate(
    (values) => window.axe.run(document, {
      runOnly: { type: 'tag', values },
      resultTypes: ['violations', 'incomplete'],
    }).then((results) => {
      const brief = (r) => ({
        id: r.id,
        impact: r.impact,
        help: r.help,
        nodes: r.nodes.map((n) => n.target.join(' ')),
      });
      return { violations: results.violations.map(brief), incomplete: results.incomplete.map(brief) };
    }),
    tags);
  findings.push({ page: name, violations, incomplete });
  for (const v of violations) {
    checks.expect(!blocking.has(v.impact),
      `${name}: axe ${v.impact} violation ${v.id} (${v.help}) at ${v.nodes.join(', ')}`);
  }
}
