// Debian's Chromium, driven by puppeteer-core (which never downloads a browser of its own).
import { access, constants } from 'node:fs/promises';
import puppeteer from 'puppeteer-core';

export async function launchChromium(executablePath) {
  try {
    await access(executablePath, constants.X_OK);
  } catch {
    throw new Error(`${executablePath} is missing: run scripts/setup.sh`);
  }
  return puppeteer.launch({
    executablePath,
    headless: true,
    // Tests and CI run as root, where Chromium refuses to start with its sandbox; the pages it
    // opens are only this test's own form on loopback.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
           '--disable-extensions', '--disable-background-networking',
           '--disable-component-update', '--font-render-hinting=none'],
  });
}

// A fresh profile per participant (nothing shared between their visits) at the given size.
export async function newPage(browser, viewport) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport(viewport);
  page.setDefaultTimeout(30_000);
  return { page, close: () => context.close() };
}

// Performs `action` (a click, a key press) that submits or follows a link and waits for the
// page it leads to; resolves to that page's HTTP response (after any redirect).
export async function navigateBy(page, action) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), action()]);
  return response;
}
