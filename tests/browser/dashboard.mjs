// Browser end-to-end test of the dashboard: headless Chromium (Debian's package)
// driven by playwright-core. Usage: node dashboard.mjs BASE_URL SCREENSHOT_DIR
// It opens the dashboard, picks a test, imports a document through the API and waits for
// the figures and the histogram to change on the page without reloading it, and pages through
// the list of tests ("More tests"), and follows the Items view of a test through a rescan; any request to
// another host fails the test (the page must work offline). Exit status 0 means passed.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import path from 'node:path';

const [base, shots, guarded, readerToken, xssId] = process.argv.slice(2);
if (!base || !shots || !guarded || !readerToken) {
  console.error('usage: node dashboard.mjs BASE_URL SCREENSHOT_DIR TOKEN_URL READER_TOKEN');
  process.exit(2);
}

function doc(test, marks) {
  const results = marks.map(([student, obtained, first]) =>
    `<mcq-test-result><first-name>${first ?? ''}</first-name><student-number>${student}</student-number>` +
    `<test-id>${test}</test-id><summary-marks available="20" obtained="${obtained}"/></mcq-test-result>`);
  return `<mcq-test-results>${results.join('')}</mcq-test-results>`;
}

async function post(body) {
  const res = await fetch(`${base}/import`, { method: 'POST', headers: { 'content-type': 'text/xml+markr' }, body });
  assert.equal(res.status, 201, await res.text());
}

async function bands(page) {
  return page.$$eval('#histogram .band', (els) => els.map((e) => Number(e.dataset.count)));
}

const TIMEOUT = 10000;
await post(doc('city-hall', [['1001', 8, 'Ada'], ['1002', 12, 'Grace']])); // 40 %, 60 %
await post(doc('other-test', [['2001', 20]]));

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const page = await context.newPage();
  const foreign = [];
  const errors = [];
  await page.route('**/*', (route) => {
    if (route.request().url().startsWith(base)) return route.continue();
    foreign.push(route.request().url());
    return route.abort();
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  // The page runs under its strict policy (no inline code): a violation would be a console
  // error, which the assertion on errors below catches.
  const landing = await page.goto(`${base}/`);
  assert.match(landing.headers()['content-security-policy'] ?? '', /script-src 'self';.*frame-ancestors 'none'/);
  assert.equal(landing.headers()['referrer-policy'], 'no-referrer');
  assert.equal(landing.headers()['x-content-type-options'], 'nosniff');
  await page.click('#tests button[data-test-id="city-hall"]', { timeout: TIMEOUT });
  await page.waitForFunction(() => document.getElementById('count').textContent === '2', null, { timeout: TIMEOUT });
  assert.equal(await page.textContent('#mean'), '50%');
  await page.waitForFunction(() => document.querySelectorAll('#histogram .band').length === 10, null, { timeout: TIMEOUT });
  assert.deepEqual(await bands(page), [0, 0, 0, 0, 1, 0, 1, 0, 0, 0]);
  // The table fills from its own request, which a live refresh may supersede: wait for it.
  await page.waitForFunction(() => document.querySelectorAll('#students tbody tr').length === 2, null, { timeout: TIMEOUT });

  // An import through the API: the page must follow without a reload.
  await post(doc('city-hall', [['1003', 19, 'Alan'], ['1004', 20, 'Edsger'], ['1001', 10]])); // 95, 100; 1001 to 50
  await page.waitForFunction(() => document.getElementById('count').textContent === '4', null, { timeout: TIMEOUT });
  assert.equal(await page.textContent('#mean'), '76.3%'); // (50 + 60 + 95 + 100) / 4 = 76.25
  assert.equal(await page.textContent('#max'), '100%');
  await page.waitForFunction(() => {
    const counts = [...document.querySelectorAll('#histogram .band')].map((e) => Number(e.dataset.count));
    return counts.join(',') === '0,0,0,0,0,1,1,0,0,2';
  }, null, { timeout: TIMEOUT });
  await page.waitForFunction(() => document.querySelectorAll('#students tbody tr').length === 4, null,
                             { timeout: TIMEOUT });
  assert.equal(await page.textContent('#students tbody tr:first-child td:first-child'), '1004'); // best first

  // The list of tests follows /events: a new test appears without a reload.
  await post(doc('new-test', [['3001', 5]]));
  await page.waitForSelector('#tests button[data-test-id="new-test"]', { timeout: TIMEOUT });
  assert.equal(await page.isHidden('#more-tests'), true); // three tests: one page

  // GET /tests comes 100 at a time: with 103 tests, "More tests" brings the last 3.
  const many = [...Array(100).keys()].map((i) => `<mcq-test-result><student-number>4001</student-number>` +
    `<test-id>page-${String(i).padStart(3, '0')}</test-id><summary-marks available="20" obtained="10"/></mcq-test-result>`);
  await post(`<mcq-test-results>${many.join('')}</mcq-test-results>`);
  await page.waitForSelector('#more-tests:not([hidden])', { timeout: TIMEOUT });
  assert.equal(await page.locator('#tests li').count(), 100);
  await page.click('#more-tests', { timeout: TIMEOUT });
  await page.waitForFunction(() => document.querySelectorAll('#tests li').length === 103, null, { timeout: TIMEOUT });
  assert.equal(await page.isHidden('#more-tests'), true);

  // The Items view: the item analysis of the chosen test, following imports live.
  const sheet = (student, obtained, answers) => `<mcq-test-result><student-number>${student}</student-number>` +
    `<test-id>items-test</test-id>` + answers.map(([q, r, aw, av]) =>
      `<answer question="${q}" marks-available="${av}" marks-awarded="${aw}">${r}</answer>`).join('') +
    `<summary-marks available="3" obtained="${obtained}"/></mcq-test-result>`;
  await post(`<mcq-test-results>${sheet('s1', 3, [['1', 'A', 1, 1], ['2', 'B', 2, 2]])}` +
             `${sheet('s2', 1, [['1', 'C', 0, 1], ['2', 'B', 1, 2]])}</mcq-test-results>`);
  await page.click('#tests button[data-test-id="items-test"]', { timeout: TIMEOUT });
  await page.waitForFunction(() => document.querySelectorAll('#items-table tbody tr').length === 2, null,
                             { timeout: TIMEOUT });
  assert.equal(await page.textContent('#items-students'), '2');
  assert.equal(await page.textContent('#items-table tr[data-question="1"] .facility'), '50.0%');
  assert.equal(await page.textContent('#items-table tr[data-question="2"] .facility'), '75.0%');
  assert.match(await page.textContent('#items-table tr[data-question="1"] .responses'), /A 1 \(↑1 ↓0\)\s*C 1 \(↑0 ↓1\)/);
  // s2 rescanned higher: question 1 right, question 3 new (a blank). The page follows.
  await post(`<mcq-test-results>${sheet('s2', 2, [['1', 'A', 1, 1], ['2', 'B', 1, 2], ['3', ' ', 0, 1]])}` +
             `</mcq-test-results>`);
  await page.waitForFunction(() => document.querySelectorAll('#items-table tbody tr').length === 3, null,
                             { timeout: TIMEOUT });
  assert.equal(await page.textContent('#items-table tr[data-question="1"] .facility'), '100.0%');
  assert.match(await page.textContent('#items-table tr[data-question="1"] .flags'), /too easy/);
  assert.match(await page.textContent('#items-table tr[data-question="3"] .responses'), /\(blank\) 1/);
  const api = await (await fetch(`${base}/results/items-test/items`)).json();
  assert.equal(await page.textContent('#items-alpha'), api.alpha === null ? '–' : api.alpha.toFixed(3));
  await page.screenshot({ path: path.join(shots, 'dashboard-items.png'), fullPage: true });

  await page.screenshot({ path: path.join(shots, 'dashboard-laptop.png'), fullPage: true });
  await page.setViewportSize({ width: 3840, height: 2160 }); // a wall screen
  await page.screenshot({ path: path.join(shots, 'dashboard-wall.png') });

  assert.deepEqual(foreign, [], 'the page asked for something beyond the server');
  assert.deepEqual(errors, [], 'the page reported errors');
  console.log(`browser: dashboard followed the import; screenshots in ${shots}`);

  // Reader tokens set: the figures still come, the students wait for a token.
  const tokenContext = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const tokenPage = await tokenContext.newPage();
  const tokenErrors = [];
  const sent = []; // the Authorization header of each students read
  await tokenPage.route('**/*', (route) => {
    const url = route.request().url();
    if (!url.startsWith(guarded)) return route.abort();
    if (new URL(url).pathname === '/results/city-hall') sent.push(route.request().headers().authorization ?? null);
    return route.continue();
  });
  tokenPage.on('pageerror', (e) => tokenErrors.push(String(e)));
  tokenPage.on('console', (m) => {
    // Chromium reports each 401 as a failed resource; those are the point of this case.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) tokenErrors.push(m.text());
  });
  await tokenPage.goto(`${guarded}/`);
  await tokenPage.click('#tests button[data-test-id="city-hall"]', { timeout: TIMEOUT });
  await tokenPage.waitForFunction(() => document.getElementById('count').textContent === '4', null,
                                  { timeout: TIMEOUT });
  await tokenPage.waitForSelector('#auth:not([hidden])', { timeout: TIMEOUT });
  assert.equal(await tokenPage.evaluate(() => document.activeElement.id), 'auth-token');
  await tokenPage.screenshot({ path: path.join(shots, 'dashboard-token-form.png'), fullPage: true });
  assert.equal(await tokenPage.locator('#students tbody tr').count(), 0);
  assert.equal(await tokenPage.isHidden('#auth-error'), true);
  // The form is labelled for assistive technology.
  assert.equal(await tokenPage.getByLabel('Token', { exact: true }).getAttribute('id'), 'auth-token');

  await tokenPage.fill('#auth-token', 'not-the-reader-token-at-all');
  await tokenPage.click('#auth button[type="submit"]');
  await tokenPage.waitForSelector('#auth-error:not([hidden])', { timeout: TIMEOUT });
  assert.equal(await tokenPage.isVisible('#auth'), true);
  assert.equal(await tokenPage.evaluate(() => sessionStorage.getItem('markr-token')), null);

  await tokenPage.fill('#auth-token', readerToken);
  await tokenPage.press('#auth-token', 'Enter');
  await tokenPage.waitForFunction(() => document.querySelectorAll('#students tbody tr').length === 4, null,
                                  { timeout: TIMEOUT });
  assert.equal(await tokenPage.isHidden('#auth'), true);
  assert.equal(await tokenPage.inputValue('#auth-token'), '');
  assert.equal(await tokenPage.evaluate(() => sessionStorage.getItem('markr-token')), readerToken);
  assert.equal(await tokenPage.evaluate(() => localStorage.length), 0);
  assert.equal(await tokenPage.evaluate(() => document.cookie), '');
  assert.deepEqual([...new Set(sent)].sort(), [null, 'Bearer not-the-reader-token-at-all', `Bearer ${readerToken}`].sort());

  // The token lasts for the tab's session: a reload asks nothing.
  sent.length = 0;
  await tokenPage.reload();
  await tokenPage.click('#tests button[data-test-id="city-hall"]', { timeout: TIMEOUT });
  await tokenPage.waitForFunction(() => document.querySelectorAll('#students tbody tr').length === 4, null,
                                  { timeout: TIMEOUT });
  assert.equal(await tokenPage.isHidden('#auth'), true);
  assert.ok(sent.length > 0 && sent.every((h) => h === `Bearer ${readerToken}`), `sent ${sent}`);
  await tokenPage.screenshot({ path: path.join(shots, 'dashboard-token.png'), fullPage: true });
  assert.deepEqual(tokenErrors, [], 'the page with tokens reported errors');
  console.log('browser: the dashboard asked for a reader token and used it');

  // A stored document whose client-sent Content-Type browsers read as HTML, with a script for
  // a body: opened on markr's origin (a link from anywhere), it is a download
  // (Content-Disposition: attachment, markr's own Content-Type, CSP sandbox), never a page, so
  // its script never runs. (The dashboard's own CSP would not even let it be framed.)
  const xssPage = await browser.newPage();
  const xssMessages = [];
  // (The /health page has no favicon: Chromium's 404 for it is not about this case.)
  xssPage.on('console', (m) => { if (!/Failed to load resource/.test(m.text())) xssMessages.push(m.text()); });
  xssPage.on('pageerror', (e) => xssMessages.push(String(e)));
  await xssPage.goto(`${base}/health`);
  const rawUrl = `${base}/imports/${xssId}/raw`;
  const [download, navigation] = await Promise.all([
    xssPage.waitForEvent('download', { timeout: TIMEOUT }),
    xssPage.goto(rawUrl).then(() => null, (e) => e),
  ]);
  assert.equal(download.url(), rawUrl);
  assert.match(String(navigation), /Download is starting/);
  const rawAnswer = await xssPage.request.get(rawUrl);
  assert.equal(rawAnswer.headers()['content-type'], 'text/xml+markr');
  assert.equal(rawAnswer.headers()['content-security-policy'], 'sandbox');
  assert.match(rawAnswer.headers()['content-disposition'], /^attachment/);
  assert.equal(await xssPage.evaluate(() => window.markrXss), undefined);
  assert.equal(new URL(xssPage.url()).pathname, '/health');
  assert.deepEqual(xssMessages, []);
  console.log('browser: a stored script served by /raw did not run');
} finally {
  await browser.close();
}
