// The browser half of survey_form_test.sh's second part: an online experiment's personal pages
// (fixtures/experiment_instrument.yaml) answered in headless Chromium by one participant of each
// condition, through the links in their invitations. Every page is checked like the survey's
// (axe, no sideways scrolling at 320 px, screenshots); the joint participant's pages show two
// applications side by side at 1280 px, the separate participant's one per page; each
// application carries the candidate name its position in the participant's latin-square row
// gives it.
//
// Environment: CHROMIUM, ARTEFACTS_DIR, JOINT_LINK and SEPARATE_LINK (the links), JOINT_NAMES and
// SEPARATE_NAMES (the candidate texts in the participant's order, "|"-separated).
// Exit status 1 when any check failed (each failure printed as "FAIL: ...").
import { navigateBy, newPage } from './lib/browser.mjs';
import { inspectPage } from './lib/pages.mjs';
import { inChromium, required } from './lib/session.mjs';

const studyTitle = 'Reading applications';

// Picks the first option of every question on the page, as a participant clicking its words.
async function answerEveryQuestion(page) {
  const firsts = await page.$$eval('input[type=radio]', (inputs) => {
    const seen = new Map();
    for (const input of inputs) if (!seen.has(input.name)) seen.set(input.name, input.id);
    return [...seen.values()];
  });
  for (const id of firsts) await page.click(`label[for="${id}"]`);
  return firsts.length;
}

// The applications shown on the page: their candidate line, and where their boxes are.
function cases(page) {
  return page.$$eval('section.case', (sections) => sections.map((s) => {
    const box = s.getBoundingClientRect();
    return { name: s.querySelector('p').textContent.trim(), top: Math.round(box.top),
             left: Math.round(box.left) };
  }));
}

// options: { run, link, viewport, perPage, names (the candidate texts in order) }
async function experimentRun(browser, ctx, options) {
  const { checks } = ctx;
  const { run, perPage, names } = options;
  ctx = { ...ctx, run };
  const { page, close } = await newPage(browser, options.viewport);
  try {
    const pages = 1 + names.length / perPage;
    let response = await page.goto(options.link, { waitUntil: 'load' });
    const shown = [];
    for (let n = 1; n <= pages; ++n) {
      await inspectPage(page, response, ctx, { kind: `experiment-page${n}`, status: 200,
        heading: studyTitle, text: `Page ${n} of ${pages}` });
      const boxes = await cases(page);
      if (boxes.length > 0) {
        checks.expect(boxes.length === perPage,
          `${run} page ${n}: ${boxes.length} applications, wanted ${perPage}`);
        if (boxes.length === 2 && options.viewport.width >= 1000) {
          checks.expect(boxes[0].top === boxes[1].top && boxes[0].left < boxes[1].left,
            `${run} page ${n}: the two applications are not side by side (${JSON.stringify(boxes)})`);
        }
        shown.push(...boxes.map((b) => b.name));
      }
      const answered = await answerEveryQuestion(page);
      checks.expect(answered >= 1, `${run} page ${n}: no question to answer`);
      response = await navigateBy(page, () => page.click('button[type=submit]'));
    }
    await inspectPage(page, response, ctx, { kind: 'experiment-thank-you', status: 200,
      heading: 'Thank you', text: 'Your answers have been recorded.' });
    checks.expect(JSON.stringify(shown) === JSON.stringify(names),
      `${run}: the applications were headed ${JSON.stringify(shown)}, the allocation says ` +
      `${JSON.stringify(names)}`);
  } finally {
    await close();
  }
}

const { checks, seconds } = await inChromium('axe-findings-experiment.json', async (browser, ctx) => {
  await ctx.checks.step('joint-1280', () => experimentRun(browser, ctx, {
    run: 'joint-1280', link: required('JOINT_LINK'), viewport: { width: 1280, height: 800 },
    perPage: 2, names: required('JOINT_NAMES').split('|'),
  }));
  await ctx.checks.step('separate-375', () => experimentRun(browser, ctx, {
    run: 'separate-375', link: required('SEPARATE_LINK'), viewport: { width: 375, height: 667 },
    perPage: 1, names: required('SEPARATE_NAMES').split('|'),
  }));
});
console.log(`browser (experiment): ${checks.count} checks, ${checks.failures.length} failed, in ${seconds} s`);
process.exit(checks.failures.length === 0 ? 0 : 1);
