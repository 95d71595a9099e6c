// What a participant sees, measured in the rendered page: sideways scrolling on a narrow phone,
// the visible focus, and an error message's place beside the question it is about.

// At 320 px wide (the narrowest phone WCAG 1.4.10 reflow asks for) the page must not scroll
// sideways. The page is measured at 320 px, photographed there (`screenshot`), and put back at
// its own size.
export async function checkNoSideScroll(page, name, checks, screenshot) {
  const own = page.viewport();
  await page.setViewport({ width: 320, height: 568 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  checks.expect(width <= 320, `${name}: at 320 px the page is ${width} px wide (scrolls sideways)`);
  await screenshot();
  await page.setViewport(own);
}

// The element with the keyboard focus: its id (or tag and text) and whether its focus can be
// seen, i.e. its computed outline is drawn.
export async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {
      id: el.id || `${el.tagName.toLowerCase()}:${el.textContent.trim()}`,
      visible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
      outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
    };
  });
}

// Checks that the focus is on `id` and is visible.
export async function checkFocus(page, name, id, checks) {
  const f = await focused(page);
  checks.expect(f.id === id, `${name}: the focus is on ${f.id}, wanted ${id}`);
  checks.expect(f.visible, `${name}: the focus on ${f.id} is not visible (outline ${f.outline})`);
}

// The error about `item` is shown beside its question: inside the question's own group, tied to
// it by aria-describedby, visible, saying `message`, and just above the answer controls (between
// the question's top and its first control); the summary at the top links to it.
export async function checkErrorBeside(page, name, item, message, checks) {
  const e = await page.evaluate((item) => {
    const error = document.getElementById(`e_${item}`);
    const control = document.getElementById(`q_${item}`) ?? document.getElementById(`q_${item}_0`);
    if (!error || !control) return null;
    const group = control.closest('fieldset, .q');
    const described = (group.matches('fieldset') ? group : control).getAttribute('aria-describedby');
    const box = (el) => el.getBoundingClientRect();
    const links = [...document.querySelectorAll('.summary a')].map((a) => a.getAttribute('href'));
    return {
      text: error.textContent.trim(),
      inGroup: group.contains(error),
      described: (described ?? '').split(' ').includes(error.id),
      visible: box(error).height > 0 && getComputedStyle(error).visibility === 'visible',
      above: box(error).bottom <= box(control).top + 1 && box(error).top >= box(group).top,
      gap: Math.round(box(control).top - box(error).bottom),
      summaryLinks: links,
      controlId: control.id,
    };
  }, item);
  if (!checks.expect(e !== null, `${name}: no error message e_${item} beside question ${item}`)) return;
  checks.expect(e.text === `Error: ${message}`, `${name}: the error beside ${item} says "${e.text}"`);
  checks.expect(e.inGroup, `${name}: the error about ${item} is outside its question`);
  checks.expect(e.described, `${name}: ${item} is not aria-describedby its error`);
  checks.expect(e.visible, `${name}: the error about ${item} is not visible`);
  checks.expect(e.above && e.gap < 80,
    `${name}: the error about ${item} is not just above its answer (${e.gap} px away)`);
  checks.expect(e.summaryLinks.includes(`#${e.controlId}`),
    `${name}: the summary has no link to #${e.controlId} (${e.summaryLinks.join(', ')})`);
}
