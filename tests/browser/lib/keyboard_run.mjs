// One participant answers the whole survey with the keyboard only (Tab, Space, the arrow keys,
// typing and Enter; no click anywhere), at phone size. Every element the focus lands on must
// show it (a drawn outline), and the focus must land where the page order says. Page 2 is
// first sent empty with Enter, and the error summary's link is followed with the keyboard.
import path from 'node:path';
import { navigateBy, newPage } from './browser.mjs';
import * as form from './form.mjs';
import { checkErrorBeside, checkFocus } from './layout.mjs';
import { inspectPage } from './pages.mjs';

export async function keyboardRun(browser, ctx, { run, link, viewport }) {
  const { checks } = ctx;
  ctx = { ...ctx, run };
  const { page, close } = await newPage(browser, viewport);
  const key = (name) => page.keyboard.press(name);
  const enter = () => navigateBy(page, () => key('Enter'));
  try {
    let response = await page.goto(link, { waitUntil: 'load' });
    await inspectPage(page, response, ctx,
      { kind: 'first-page', status: 200, heading: form.studyTitle, text: 'Page 1 of 2' });

    // The scale: Tab into the group (its first point), Space chooses it, arrows move along.
    await key('Tab');
    await checkFocus(page, `${run} page 1`, 'q_worthwhile_0', checks);
    await key('Space');
    checks.expect(await form.chosen(page, 'worthwhile') === '0', `${run}: Space did not choose 0`);
    for (let i = 0; i < 6; ++i) await key('ArrowRight');
    await checkFocus(page, `${run} page 1`, 'q_worthwhile_6', checks);
    checks.expect(await form.chosen(page, 'worthwhile') === '6',
      `${run}: six ArrowRights from 0 chose ${await form.chosen(page, 'worthwhile')}, not 6`);
    // The choice: Tab to the next group, ArrowDown to its second option.
    await key('Tab');
    await checkFocus(page, `${run} page 1`, 'q_team_0', checks);
    await key('ArrowDown');
    checks.expect(await form.chosen(page, 'team') === '2',
      `${run}: ArrowDown in the team question chose ${await form.chosen(page, 'team')}`);
    await key('Tab');
    await checkFocus(page, `${run} page 1`, 'button:Next', checks);
    response = await enter();
    checks.expect(response.status() === 200 && new URL(page.url()).search === '?page=2',
      `${run}: Enter on Next led to ${page.url()} (HTTP ${response.status()})`);

    // Page 2 sent empty with Enter in the number box: the error page.
    await key('Tab');
    await checkFocus(page, `${run} page 2`, 'q_hours', checks);
    response = await enter();
    await inspectPage(page, response, ctx,
      { kind: 'error-page', status: 422, heading: form.studyTitle, text: 'There is a problem' });
    await checkErrorBeside(page, `${run} page 2`, 'hours', form.answerMissing, checks);
    // The summary's link comes first; Enter on it takes the focus to the question.
    await key('Tab');
    await checkFocus(page, `${run} error summary`,
      `a:How many hours did you work last week? ${form.answerMissing}`, checks);
    await key('Enter');
    await checkFocus(page, `${run} after the summary link`, 'q_hours', checks);
    await page.keyboard.type('24');
    await key('Tab');
    await checkFocus(page, `${run} page 2`, 'q_comments', checks);
    await page.keyboard.type('Answered with the keyboard only.');
    await key('Tab');
    await checkFocus(page, `${run} page 2`, 'button:Submit your answers', checks);
    await key('Tab');
    await checkFocus(page, `${run} page 2`, 'a:Back', checks);
    await page.keyboard.down('Shift');
    await key('Tab');
    await page.keyboard.up('Shift');
    await checkFocus(page, `${run} page 2`, 'button:Submit your answers', checks);
    await page.screenshot({ path: path.join(ctx.artefacts, `${run}-focus-on-submit.png`) });
    response = await enter();
    await inspectPage(page, response, ctx, { kind: 'thank-you', status: 200,
      heading: form.thankYouHeading, text: 'Your answers have been recorded.' });
  } finally {
    await close();
  }
}
