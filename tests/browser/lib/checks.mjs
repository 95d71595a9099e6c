// Failures are collected, not thrown: one run of the form then lists everything that is wrong
// with it, page by page, instead of stopping at the first problem. A step that cannot go on
// (a page that did not load) throws, and the run it belongs to records that as a failure too.
export class Checks {
  constructor() {
    this.failures = [];
    this.count = 0;  // checks made, printed at the end: a run that checked nothing shows it
  }

  fail(message) {
    this.failures.push(message);
    console.error(`FAIL: ${message}`);
  }

  // Records a failure unless `condition` holds; returns `condition`.
  expect(condition, message) {
    this.count += 1;
    if (!condition) this.fail(message);
    return Boolean(condition);
  }

  // Runs `body`; an exception is one failure named after `what`, and the next step goes on.
  async step(what, body) {
    try {
      await body();
    } catch (error) {
      this.fail(`${what}: ${error.message}`);
    }
  }
}
