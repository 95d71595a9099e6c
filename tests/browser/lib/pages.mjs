// The checks every kind of page gets, whoever reached it and however: the HTTP status, the
// heading, the headers that keep scripts out, axe, no sideways scrolling at 320 px, and a
// screenshot at the run's own size and at 320 px under the artefacts directory.
import path from 'node:path';
import { checkAccessibility } from './axe.mjs';
import { checkNoSideScroll } from './layout.mjs';

// ctx: { checks, findings, artefacts, run } (run: the run's name, e.g. "mouse-375", which
// starts its failures and its screenshots' names).
export function screenshotter(page, ctx) {
  return (file) => page.screenshot({ path: path.join(ctx.artefacts, `${file}.png`), fullPage: true });
}

// The page now shown, reached with `response`, is the page kind `kind`: answered with `status`,
// its <h1> is `heading` (and `text`, when given, is somewhere in it). Screenshots: RUN-KIND.png
// and RUN-KIND-320px.png.
export async function inspectPage(page, response, ctx, { kind, status, heading, text }) {
  const { checks } = ctx;
  const name = `${ctx.run} ${kind}`;
  checks.expect(response !== null, `${name}: no HTTP response`);
  if (response === null) return;
  checks.expect(response.status() === status, `${name}: HTTP ${response.status()}, wanted ${status}`);
  const csp = response.headers()['content-security-policy'] ?? '';
  checks.expect(csp.includes("default-src 'none'"), `${name}: Content-Security-Policy is '${csp}'`);
  const h1 = await page.$eval('h1', (el) => el.textContent.trim()).catch(() => '(no h1)');
  checks.expect(h1 === heading, `${name}: the heading is "${h1}", wanted "${heading}"`);
  if (text !== undefined) {
    const body = await page.$eval('main', (el) => el.innerText);
    checks.expect(body.includes(text), `${name}: the page does not say "${text}"`);
  }
  const shoot = screenshotter(page, ctx);
  await shoot(`${ctx.run}-${kind}`);
  await checkAccessibility(page, name, checks, ctx.findings);
  await checkNoSideScroll(page, name, checks, () => shoot(`${ctx.run}-${kind}-320px`));
}
