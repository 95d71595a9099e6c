// The browser half of survey_form_test.sh: three participants' personal links (from their
// invitation mails) answered in headless Chromium, and an altered link. Every kind of page the
// form shows a participant (first page, error page, last page, thank-you, already completed,
// invalid link) is checked with axe (no serious or critical WCAG 2.1 A/AA violation), for
// sideways scrolling at 320 px, and photographed into ARTEFACTS_DIR, where axe's findings of
// every impact are kept too (axe-findings.json) and printed.
//
// Environment: CHROMIUM, ARTEFACTS_DIR, MOUSE_375_LINK, MOUSE_1280_LINK, KEYBOARD_375_LINK.
// Exit status 1 when any check failed (each failure printed as "FAIL: ...").
import { newPage } from './lib/browser.mjs';
import * as form from './lib/form.mjs';
import { keyboardRun } from './lib/keyboard_run.mjs';
import { mouseRun } from './lib/mouse_run.mjs';
import { inspectPage } from './lib/pages.mjs';
import { inChromium, required } from './lib/session.mjs';

// The link with its token altered in the middle, as a mangled copy-and-paste would.
function altered(link) {
  const at = link.length - 20;
  return link.slice(0, at) + (link[at] === 'A' ? 'B' : 'A') + link.slice(at + 1);
}

// The form's CSP must still keep scripts out: axe runs anyway (see lib/axe.mjs), but a
// <script> the page itself were given must not run.
async function checkScriptsBlocked(browser, ctx, link) {
  const { page, close } = await newPage(browser, { width: 375, height: 667 });
  try {
    await page.goto(link, { waitUntil: 'load' });
    // Puppeteer may or may not report the blocked script as an error; what counts is whether
    // it ran.
    await page.addScriptTag({ content: 'document.documentElement.dataset.injected = "yes"' })
      .catch(() => {});
    const ran = await page.evaluate(() => document.documentElement.dataset.injected === 'yes');
    ctx.checks.expect(!ran, 'an inline <script> added to the page ran: the CSP does not block it');
  } finally {
    await close();
  }
}

async function invalidLinkRun(browser, ctx, link) {
  const { page, close } = await newPage(browser, { width: 375, height: 667 });
  try {
    const response = await page.goto(altered(link), { waitUntil: 'load' });
    await inspectPage(page, response, { ...ctx, run: 'phone-375' },
      { kind: 'invalid-link', status: 404, heading: form.invalidHeading });
  } finally {
    await close();
  }
}

const { checks, findings, seconds } = await inChromium('axe-findings.json', async (browser, ctx) => {
  const { checks } = ctx;
  const phone = { width: 375, height: 667 };
  await checks.step('mouse-375', () => mouseRun(browser, ctx, {
    run: 'mouse-375', link: required('MOUSE_375_LINK'), viewport: phone, wrongPage: 2,
    answers: { worthwhile: 8, team: 2, hours: 38, comments: 'Answered on a phone-sized screen.' },
  }));
  await checks.step('mouse-1280', () => mouseRun(browser, ctx, {
    run: 'mouse-1280', link: required('MOUSE_1280_LINK'), viewport: { width: 1280, height: 800 },
    wrongPage: 1, goBack: true,
    answers: { worthwhile: 3, team: 0, hours: 40, comments: 'Answered on a desktop screen.' },
  }));
  await checks.step('keyboard-375', () => keyboardRun(browser, ctx, {
    run: 'keyboard-375', link: required('KEYBOARD_375_LINK'), viewport: phone,
  }));
  await checks.step('invalid link', () => invalidLinkRun(browser, ctx, required('MOUSE_375_LINK')));
  await checks.step('CSP', () => checkScriptsBlocked(browser, ctx, required('MOUSE_375_LINK')));
});
const kinds = new Set(findings.map((f) => f.page.split(' ')[1]));
checks.expect(kinds.size === 6, `axe ran on ${[...kinds].join(', ')}: not every kind of page`);
console.log(`browser: ${checks.count} checks, ${checks.failures.length} failed, in ${seconds} s`);
process.exit(checks.failures.length === 0 ? 0 : 1);
