// One participant answers the whole survey with the mouse at one window size: the first page,
// one page sent wrong first (its error beside its question, the typed answer kept), optionally
// Back to the saved first page, the last page, Submit, the thank-you page, and the link opened
// again ("already completed").
import { navigateBy, newPage } from './browser.mjs';
import * as form from './form.mjs';
import { checkErrorBeside } from './layout.mjs';
import { inspectPage } from './pages.mjs';

// options: { run, link, viewport, wrongPage (1 or 2), answers: { worthwhile, team, hours,
// comments } (worthwhile and team: the option's index), goBack }
export async function mouseRun(browser, ctx, options) {
  const { checks } = ctx;
  const { run, link, answers } = options;
  ctx = { ...ctx, run };
  const { page, close } = await newPage(browser, options.viewport);
  try {
    const submit = () => navigateBy(page, () => page.click('button[type=submit]'));

    let response = await page.goto(link, { waitUntil: 'load' });
    await inspectPage(page, response, ctx,
      { kind: 'first-page', status: 200, heading: form.studyTitle, text: 'Page 1 of 2' });
    const ends = await page.$$eval('.points label',
      (labels) => [labels[0].innerText, labels[labels.length - 1].innerText]);
    checks.expect(/Not at all/.test(ends[0]) && /Completely/.test(ends[1]),
      `${run}: the scale's ends read "${ends.join('" and "')}", not its min and max labels`);

    if (options.wrongPage === 1) {
      response = await submit();  // nothing chosen: both questions need an answer
      await inspectPage(page, response, ctx,
        { kind: 'error-page', status: 422, heading: form.studyTitle, text: 'There is a problem' });
      await checkErrorBeside(page, `${run} page 1`, 'worthwhile', form.answerMissing, checks);
      await checkErrorBeside(page, `${run} page 1`, 'team', form.answerMissing, checks);
    }
    await form.clickOption(page, 'worthwhile', answers.worthwhile);
    await form.clickOption(page, 'team', answers.team);
    checks.expect(await form.chosen(page, 'worthwhile') === String(answers.worthwhile),
      `${run}: clicking point ${answers.worthwhile} chose ${await form.chosen(page, 'worthwhile')}`);
    // The team options' codes are "1" to "3", in order.
    checks.expect(await form.chosen(page, 'team') === String(answers.team + 1),
      `${run}: clicking option ${answers.team} chose code ${await form.chosen(page, 'team')}`);
    response = await submit();
    checks.expect(new URL(page.url()).search === '?page=2', `${run}: Next led to ${page.url()}`);

    if (options.goBack) {
      // Back shows page 1 again with what was saved there.
      response = await navigateBy(page, () => page.click('a[href="?page=1"]'));
      checks.expect(response.status() === 200, `${run}: Back answered HTTP ${response.status()}`);
      checks.expect(await form.chosen(page, 'worthwhile') === String(answers.worthwhile) &&
                    await form.chosen(page, 'team') === String(answers.team + 1),
        `${run}: Back shows page 1 without its saved answers`);
      response = await submit();
    }

    await inspectPage(page, response, ctx,
      { kind: 'last-page', status: 200, heading: form.studyTitle, text: 'Page 2 of 2' });
    if (options.wrongPage === 2) {
      await form.typeInto(page, 'hours', '99');
      response = await submit();
      await inspectPage(page, response, ctx,
        { kind: 'error-page', status: 422, heading: form.studyTitle, text: 'There is a problem' });
      await checkErrorBeside(page, `${run} page 2`, 'hours', form.hoursOutOfRange, checks);
      checks.expect(await form.fieldValue(page, 'hours') === '99',
        `${run}: the wrong answer typed is not kept on the error page`);
    }
    await form.typeInto(page, 'hours', String(answers.hours));
    await form.typeInto(page, 'comments', answers.comments);
    response = await submit();
    await inspectPage(page, response, ctx, { kind: 'thank-you', status: 200,
      heading: form.thankYouHeading, text: 'Your answers have been recorded.' });

    response = await page.goto(link, { waitUntil: 'load' });
    await inspectPage(page, response, ctx,
      { kind: 'already-completed', status: 200, heading: form.completedHeading });
  } finally {
    await close();
  }
}
