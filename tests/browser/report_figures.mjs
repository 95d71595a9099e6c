// The browser half of report_figures_test.sh: the report page report_figures_page wrote, opened
// in headless Chromium. Each figure is checked in the DOM against the page's fixed data (2 arms,
// 2 waves, 3 outcomes with a standardised effect, time bins on 2 of them): the CONSORT flow's
// boxes and counts, the forest plot's rows, the attenuation panels' bins and their exploratory
// label; every figure is an accessible image with a caption, drawn inside its own box. Then axe
// (no violations of any impact) at 1280 and at 320 px, no sideways scrolling at 320 px, and the
// screenshots report-figures-320px.png (the whole page) and report-figures.png (the figures'
// sections at 800 px, the one kept in docs/img).
//
// Environment: CHROMIUM, ARTEFACTS_DIR, REPORT_HTML (the page).
// Exit status 1 when any check failed (each failure printed as "FAIL: ...").
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkAccessibility } from './lib/axe.mjs';
import { newPage } from './lib/browser.mjs';
import { checkNoSideScroll } from './lib/layout.mjs';
import { inChromium, required } from './lib/session.mjs';

const exploratory = 'exploratory (conditions on a post-treatment variable)';

// What the page shows, read from the DOM.
function figures(page) {
  return page.evaluate(() => {
    const text = (el) => [...el.querySelectorAll('text')].map((t) => t.textContent).join('|');
    const box = (stage, arm) =>
      document.querySelector(`svg.figure-consort g.consort-box[data-stage="${stage}"][data-arm="${arm}"]`);
    const inside = (inner, outer) => {
      const a = inner.getBoundingClientRect();
      const b = outer.getBoundingClientRect();
      return a.left >= b.left - 0.5 && a.right <= b.right + 0.5 && a.top >= b.top - 0.5 &&
        a.bottom <= b.bottom + 0.5;
    };
    const consort = document.querySelector('svg.figure-consort');
    const forest = document.querySelector('svg.figure-forest');
    const panels = [...document.querySelectorAll('svg.figure-attenuation')];
    const stageCount = (stage) =>
      document.querySelectorAll(`svg.figure-consort g.consort-box[data-stage="${stage}"]`).length;
    return {
      consorts: document.querySelectorAll('svg.figure-consort').length,
      boxes: document.querySelectorAll('svg.figure-consort g.consort-box').length,
      stages: ['enrolled', 'allocated', 'received', 'follow-up', 'analysed'].map(stageCount),
      enrolled: consort ? text(consort.querySelector('g[data-stage="enrolled"]')) : '',
      allocatedTreatment: box('allocated', 'treatment') ? text(box('allocated', 'treatment')) : '',
      receivedControl: box('received', 'control') ? text(box('received', 'control')) : '',
      receivedTreatment: box('received', 'treatment') ? text(box('received', 'treatment')) : '',
      boxesInside: consort ? [...consort.querySelectorAll('g.consort-box')].every((g) => inside(g, consort)) : false,
      forestRows: forest ? forest.querySelectorAll('g.forest-row').length : 0,
      progressionBars: document.querySelectorAll('svg.figure-progression rect.bar').length,
      progressionErrors: document.querySelectorAll('svg.figure-progression path.error-bar').length,
      progressionCis: [...document.querySelectorAll('table.progression-table tr')].slice(1)
        .map((tr) => tr.lastElementChild?.textContent ?? ''),
      interactionTables: ['interaction-arms', 'interaction-terms', 'interaction-arm-effects',
        'interaction-level-effects'].map((cls) => document.querySelectorAll(`table.${cls}`).length),
      forestIntervals: forest ? [...forest.querySelectorAll('g.forest-row line.ci')].map((l) =>
        ({ x1: Number(l.getAttribute('x1')), x2: Number(l.getAttribute('x2')), inside: inside(l, forest) })) : [],
      forestZero: forest ? forest.querySelectorAll('line.zero-line').length : 0,
      forestTicks: forest ? forest.querySelectorAll('text.tick').length : 0,
      panels: panels.length,
      bins: panels.map((p) => p.querySelectorAll('g.time-bin').length),
      panelLabels: panels.map((p) => p.querySelector('text.exploratory')?.textContent ?? ''),
      notEstimated: panels.map((p) => [...p.querySelectorAll('text.bin-n')]
        .filter((t) => t.textContent === 'not estimated').length),
      // Every figure: an image with a name, a <title>, drawn at a real size; the new ones captioned.
      images: [...document.querySelectorAll('svg.figure')].map((svg) => ({
        cls: svg.getAttribute('class'),
        role: svg.getAttribute('role'),
        label: svg.getAttribute('aria-label') ?? '',
        title: svg.querySelector(':scope > title')?.textContent ?? '',
        height: svg.getBoundingClientRect().height,
        caption: svg.closest('figure')?.querySelector('figcaption')?.textContent ?? '',
      })),
    };
  });
}

function checkFigures(f, checks) {
  checks.expect(f.consorts === 1, `${f.consorts} CONSORT diagrams, wanted 1`);
  // Enrolled, and per arm: allocated, received, 2 waves, analysed.
  checks.expect(f.boxes === 11, `the CONSORT diagram has ${f.boxes} boxes, wanted 11`);
  checks.expect(JSON.stringify(f.stages) === '[1,2,2,4,2]',
    `CONSORT boxes by stage ${JSON.stringify(f.stages)}, wanted [1,2,2,4,2]`);
  checks.expect(f.enrolled === 'Enrolled|n: 120', `the enrolled box says "${f.enrolled}"`);
  checks.expect(f.allocatedTreatment === 'Allocated to treatment|n: 60',
    `the treatment arm's allocated box says "${f.allocatedTreatment}"`);
  checks.expect(f.receivedControl === 'Received the intervention|not measured',
    `the control arm's received box says "${f.receivedControl}"`);
  checks.expect(f.receivedTreatment.includes('took it up: 38.6%'),
    `the treatment arm's received box says "${f.receivedTreatment}"`);
  checks.expect(f.boxesInside, 'a CONSORT box is drawn outside its diagram');
  checks.expect(f.forestRows === 3, `the forest plot has ${f.forestRows} rows, wanted 3`);
  // The second plan's long-format interaction: its tables, and the progression figure drawn
  // from the model's cells with their participant-clustered CIs as error bars.
  checks.expect(JSON.stringify(f.interactionTables) === '[1,1,1,1]',
    `long-format interaction tables ${JSON.stringify(f.interactionTables)}, wanted one of each`);
  checks.expect(f.progressionBars === 4 && f.progressionErrors === 4,
    `the progression figure has ${f.progressionBars} bars and ${f.progressionErrors} error bars, wanted 4 and 4`);
  checks.expect(f.progressionCis.length === 4 && f.progressionCis.every((ci) => / to /.test(ci)),
    `the progression table's CIs ${JSON.stringify(f.progressionCis)}`);
  checks.expect(f.forestIntervals.length === 3 &&
    f.forestIntervals.every((i) => i.x1 < i.x2 && i.inside),
    `forest intervals ${JSON.stringify(f.forestIntervals)}: each left to right, inside the plot`);
  checks.expect(f.forestZero === 1, `the forest plot has ${f.forestZero} lines at 0, wanted 1`);
  checks.expect(f.forestTicks >= 3, `the forest plot's axis has ${f.forestTicks} ticks`);
  checks.expect(f.panels === 2, `${f.panels} attenuation panels, wanted 2 (outcomes with time bins)`);
  checks.expect(JSON.stringify(f.bins) === '[3,2]', `time bins per panel ${JSON.stringify(f.bins)}, wanted [3,2]`);
  checks.expect(f.panelLabels.every((l) => l === exploratory) && f.panelLabels.length === 2,
    `attenuation panels labelled ${JSON.stringify(f.panelLabels)}`);
  checks.expect(JSON.stringify(f.notEstimated) === '[1,0]',
    `bins marked not estimated per panel ${JSON.stringify(f.notEstimated)}, wanted [1,0]`);
  for (const image of f.images) {
    checks.expect(image.role === 'img' && image.label !== '' && image.title === image.label,
      `${image.cls}: role "${image.role}", aria-label "${image.label}", title "${image.title}"`);
    checks.expect(image.height > 100, `${image.cls} "${image.label}" is ${image.height} px high`);
  }
  for (const cls of ['figure-consort', 'figure-forest', 'figure-attenuation']) {
    const ours = f.images.filter((image) => image.cls.includes(cls));
    checks.expect(ours.length > 0 && ours.every((image) => image.caption.length > 40),
      `${cls}: a figure without a caption saying what it draws`);
  }
}

// No violations of any impact (checkAccessibility fails only serious and critical ones).
function checkNoViolations(findings, name, checks) {
  const mine = findings.filter((f) => f.page === name).flatMap((f) => f.violations);
  checks.expect(mine.length === 0,
    `${name}: axe violations ${mine.map((v) => `${v.impact} ${v.id} (${v.nodes.join(', ')})`).join('; ')}`);
}

const { checks, seconds } = await inChromium('axe-findings-report.json', async (browser, ctx) => {
  const { page, close } = await newPage(browser, { width: 1280, height: 900 });
  try {
    await page.goto(pathToFileURL(required('REPORT_HTML')).href, { waitUntil: 'load' });
    checkFigures(await figures(page), ctx.checks);
    await checkAccessibility(page, 'report-1280', ctx.checks, ctx.findings);
    checkNoViolations(ctx.findings, 'report-1280', ctx.checks);
    await checkNoSideScroll(page, 'report', ctx.checks, () =>
      page.screenshot({ path: path.join(ctx.artefacts, 'report-figures-320px.png'), fullPage: true }));
    // At 320 px every figure is within the page's width, and still accessible.
    await page.setViewport({ width: 320, height: 568 });
    const wide = await page.evaluate(() => [...document.querySelectorAll('svg.figure')]
      .filter((svg) => svg.getBoundingClientRect().right > 320).map((svg) => svg.getAttribute('class')));
    ctx.checks.expect(wide.length === 0, `at 320 px these figures overflow: ${wide.join(', ')}`);
    await checkAccessibility(page, 'report-320', ctx.checks, ctx.findings);
    checkNoViolations(ctx.findings, 'report-320', ctx.checks);
    // The picture for the docs: the page at 800 px with only its title and the three figures'
    // sections shown (the tables and the older charts hidden), after every check.
    await page.setViewport({ width: 800, height: 900 });
    await page.evaluate(() => {
      const keep = (el) => el.matches('h1, p.meta, figure.report-figure, p.exploratory-note') ||
        (el.matches('h2') && el.nextElementSibling?.matches('figure.report-figure, p.exploratory-note'));
      for (const el of document.body.children) if (!keep(el)) el.style.display = 'none';
    });
    await page.screenshot({ path: path.join(ctx.artefacts, 'report-figures.png'), fullPage: true });
  } finally {
    await close();
  }
});
console.log(`browser (report figures): ${checks.count} checks, ${checks.failures.length} failed, in ${seconds} s`);
process.exit(checks.failures.length === 0 ? 0 : 1);
