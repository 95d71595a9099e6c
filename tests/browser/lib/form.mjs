// The survey form's pages as the test knows them (fixtures/form_instrument.yaml): what each
// page's heading and texts are, and the few mouse actions on its controls.
export const studyTitle = 'Your work this month';
export const invalidHeading = 'This link is not valid';
export const completedHeading = 'You have already completed this survey';
export const thankYouHeading = 'Thank you';
export const answerMissing = 'Please answer this question.';
export const hoursOutOfRange = 'Please enter a whole number from 0 to 80.';

// The radio button chosen for `item` (its value), or null.
export function chosen(page, item) {
  return page.evaluate((item) => document.querySelector(`input[name="q_${item}"]:checked`)?.value ?? null,
    item);
}

// Clicks the label of option `index` of `item` (as a participant clicks the number or the
// words, not the small circle).
export function clickOption(page, item, index) {
  return page.click(`label[for="q_${item}_${index}"]`);
}

// Replaces the text of `item`'s box by typing (select all, then the new text).
export async function typeInto(page, item, text) {
  await page.click(`#q_${item}`);
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await page.keyboard.type(text);
}

export function fieldValue(page, item) {
  return page.$eval(`#q_${item}`, (el) => el.value);
}
