// Browser end-to-end test of the dashboard: headless Chromium (Debian's package)
// driven by playwright-core, checked with axe-core. Usage:
//   node dashboard.mjs BASE_URL SCREENSHOT_DIR TOKEN_URL READER_TOKEN XSS_ID OPERATOR_TOKEN
// It opens the dashboard on an empty database (the empty state), uploads the school board's
// sample through the page, picks a test (kept in the URL), imports through the API and waits
// for the figures, the histogram and the announcement to change without a reload, pages
// through the tests, opens ten tabs that must all fill their tables over one shared stream,
// checks 390 px and 4K widths, reduced motion, the keyboard and axe-core's WCAG AA rules,
// the refused imports for operators, and the Items view of a test through a rescan. Any
// request to another host fails the test (the page must work offline), and so does any error the page logs. Exit status 0 means passed.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertAccessible, assertFits, bands, doc, gauge, post, TIMEOUT, until } from './helpers.mjs';

const [base, shots, guarded, readerToken, xssId, operatorToken] = process.argv.slice(2);
if (!base || !shots || !guarded || !readerToken || !operatorToken) {
  console.error('usage: node dashboard.mjs BASE_URL SCREENSHOT_DIR TOKEN_URL READER_TOKEN XSS_ID OPERATOR_TOKEN');
  process.exit(2);
}
const sample = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'sample_results.xml');

// A page that fails the test on any request beyond the server and on any error it logs, but
// for the refusal of the upload that is refused on purpose (Chromium logs every 4xx).
async function guardedPage(context, errors, foreign) {
  const page = await context.newPage();
  await page.route('**/*', (route) => {
    if (route.request().url().startsWith(base)) return route.continue();
    foreign.push(route.request().url());
    return route.abort();
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    const refusal = m.location().url === `${base}/import` && /status of 422/.test(m.text());
    if (m.type() === 'error' && !refusal) errors.push(m.text());
  });
  return page;
}

const testIds = (page) => page.$$eval('#tests a', (els) => els.map((e) => e.dataset.testId));

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const foreign = [];
  const errors = [];
  const page = await guardedPage(context, errors, foreign);

  // The page runs under its strict policy (no inline code): a violation would be a console
  // error, which the assertion on errors below catches.
  const landing = await page.goto(`${base}/`);
  assert.match(landing.headers()['content-security-policy'] ?? '', /script-src 'self';.*frame-ancestors 'none'/);
  assert.equal(landing.headers()['referrer-policy'], 'no-referrer');
  assert.equal(landing.headers()['x-content-type-options'], 'nosniff');
  const icon = await page.getAttribute('link[rel="icon"]', 'href');
  const iconAnswer = await page.request.get(new URL(icon, base).href);
  assert.equal(iconAnswer.status(), 200);
  assert.equal(iconAnswer.headers()['content-type'], 'image/svg+xml');

  // Nothing stored yet: the empty state says how to send results, with this server's address.
  await page.waitForSelector('#no-tests:not([hidden])', { timeout: TIMEOUT });
  assert.equal(await page.textContent('#curl-example'),
               `curl -X POST ${base}/import -H 'Content-Type: text/xml+markr' --data-binary @results.xml`);
  await until(page, () => document.getElementById('live').textContent === 'live');
  await assertAccessible(page, 'the empty dashboard');

  // The upload control: the school board's sample, picked as a file, shows what it imported
  // and its test appears in the list.
  await page.setInputFiles('#upload-file', sample);
  await page.waitForSelector('#upload-result .accepted', { timeout: TIMEOUT });
  assert.match(await page.textContent('#upload-result'), /^Imported 100 results \(81 students\) as import \d+: 9863$/);
  assert.equal(await page.getAttribute('#upload-result a', 'href'), '#test=9863');
  await page.waitForSelector('#tests a[data-test-id="9863"]', { timeout: TIMEOUT });
  assert.equal(await page.isHidden('#no-tests'), true);
  // A refused upload shows the refusal with its result index, line and field.
  await page.setInputFiles('#upload-file', { name: 'bad.xml', mimeType: 'text/xml', buffer: Buffer.from(
    '<mcq-test-results>\n<mcq-test-result><test-id>x</test-id>\n<summary-marks available="20" obtained="3"/>' +
    '</mcq-test-result>\n</mcq-test-results>') });
  await page.waitForSelector('#upload-result .refusal', { timeout: TIMEOUT });
  assert.match(await page.textContent('#upload-result .refusal'), /^Refused \(422\) missing_field: /);
  const where = await page.$$eval('#upload-result .where div', (els) =>
    Object.fromEntries(els.map((e) => [e.dataset.key, e.querySelector('dd').textContent])));
  assert.deepEqual(where, { result_index: '1', line: '2', field: 'student-number' });
  await page.screenshot({ path: path.join(shots, 'dashboard-upload.png'), fullPage: true });

  await post(base, doc('city-hall', [['1001', 8, 'Ada'], ['1002', 12, 'Grace']])); // 40 %, 60 %
  await post(base, doc('other-test', [['2001', 20]]));
  await until(page, () => document.querySelectorAll('#tests li').length === 3);
  // The list is in test id order, whatever the order of the imports.
  assert.deepEqual(await testIds(page), ['9863', 'city-hall', 'other-test']);

  // Changes of the figures are counted as the page announces them.
  await page.evaluate(() => {
    window.announced = [];
    new MutationObserver(() => window.announced.push(document.getElementById('announce').textContent))
      .observe(document.getElementById('announce'), { childList: true, characterData: true, subtree: true });
  });
  await page.click('#tests a[data-test-id="city-hall"]', { timeout: TIMEOUT });
  assert.equal(new URL(page.url()).hash, '#test=city-hall');
  await until(page, () => document.getElementById('count').textContent === '2');
  assert.equal(await page.textContent('#mean'), '50%');
  assert.equal(await page.getAttribute('#tests a[data-test-id="city-hall"]', 'aria-current'), 'page');
  await until(page, () => document.querySelectorAll('#histogram .band').length === 10);
  assert.deepEqual(await bands(page), [0, 0, 0, 0, 1, 0, 1, 0, 0, 0]);
  // The table fills from its own request, which a live refresh may supersede: wait for it.
  await until(page, () => document.querySelectorAll('#students tbody tr').length === 2);
  assert.notEqual(await page.getAttribute('#updated', 'datetime'), null);
  assert.match(await page.textContent('#updated'), /\d/);

  // Sortable columns say their direction; the other one says none.
  const sorts = () => page.$$eval('#students th[aria-sort]', (els) => els.map((e) => e.getAttribute('aria-sort')));
  assert.deepEqual(await sorts(), ['none', 'descending']);
  await page.click('#students th button[data-sort="student_number"]');
  await page.click('#students th button[data-sort="student_number"]');
  assert.deepEqual(await sorts(), ['ascending', 'none']);
  await until(page, () => document.querySelector('#students tbody tr td')?.textContent === '1001');
  // Back to the best first, from the keyboard.
  await page.focus('#students th button[data-sort="percent"]');
  await page.keyboard.press('Enter');
  assert.deepEqual(await sorts(), ['none', 'descending']);
  await until(page, () => document.querySelector('#students tbody tr td')?.textContent === '1002');
  assert.deepEqual(await page.evaluate(() => window.announced), [], 'nothing changed yet: nothing announced');

  // An import through the API: the page must follow without a reload, and say so once.
  await post(base, doc('city-hall', [['1003', 19, 'Alan'], ['1004', 20, 'Edsger'], ['1001', 10]])); // 95, 100; 1001 to 50
  await until(page, () => document.getElementById('count').textContent === '4');
  assert.equal(await page.textContent('#mean'), '76.3%'); // (50 + 60 + 95 + 100) / 4 = 76.25
  assert.equal(await page.textContent('#max'), '100%');
  await until(page, () => [...document.querySelectorAll('#histogram .band')].map((e) => e.dataset.count).join(',') ===
                          '0,0,0,0,0,1,1,0,0,2');
  await until(page, () => document.querySelectorAll('#students tbody tr').length === 4);
  assert.equal(await page.textContent('#students tbody tr:first-child td:first-child'), '1004'); // best first
  await until(page, () => window.announced.length > 0);
  assert.deepEqual(await page.evaluate(() => window.announced), ['Test city-hall: 4 students, mean 76.3%.']);
  // A change of a name only: the table follows, the figures are read again, and being the
  // same they are not announced.
  const before = await page.getAttribute('#updated', 'datetime');
  await post(base, doc('city-hall', [['1002', 12, 'Gracie']]));
  await until(page, () => [...document.querySelectorAll('#students tbody td')].some((td) => td.textContent === 'Gracie'));
  await until(page, (t) => document.getElementById('updated').dateTime !== t, before);
  assert.equal(await page.evaluate(() => window.announced.length), 1);
  // Another test's import is not this test's news.
  await post(base, doc('other-test', [['2002', 1]]));
  await until(page, () => document.querySelector('#tests a[data-test-id="other-test"] .n').textContent === '2');
  assert.equal(await page.evaluate(() => window.announced.length), 1);

  // A reload keeps the chosen test (it is in the URL).
  await page.reload();
  await until(page, () => document.getElementById('count').textContent === '4');
  assert.equal(await page.textContent('#test-title'), 'Test city-hall');
  await until(page, () => document.querySelectorAll('#students tbody tr').length === 4);

  // The keyboard: arrows move through the tests, Enter opens one.
  await page.focus('#tests a[data-test-id="9863"]');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testId), 'other-test');
  await page.keyboard.press('Home');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testId), '9863');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await until(page, () => location.hash === '#test=city-hall');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await until(page, () => document.getElementById('test-title').textContent === 'Test other-test');
  await until(page, () => document.getElementById('count').textContent === '2');
  // The back button brings the previous test back.
  await page.goBack();
  await until(page, () => document.getElementById('count').textContent === '4');
  assert.equal(await page.textContent('#test-title'), 'Test city-hall');
  // The first Tab stop skips to the chosen test, and the URL keeps it.
  await page.reload();
  await until(page, () => document.getElementById('count').textContent === '4');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'skip');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'test');
  assert.equal(new URL(page.url()).hash, '#test=city-hall');

  // Animations are off for those who asked for no motion.
  const transition = () => page.$eval('#histogram .bar', (e) => getComputedStyle(e).transitionDuration);
  assert.equal(await transition(), '0.4s');
  await page.emulateMedia({ reducedMotion: 'reduce' });
  assert.equal(await transition(), '0s');
  await page.emulateMedia({ reducedMotion: null });

  // For operators: the refused imports with their reasons (no tokens on this server).
  await page.click('#refused summary');
  await page.waitForSelector(`#refused-list li[data-import-id="${xssId}"]`, { timeout: TIMEOUT });
  assert.match(await page.textContent(`#refused-list li[data-import-id="${xssId}"] .refusal`), /^malformed_xml$/);
  await until(page, () => [...document.querySelectorAll('#refused-list li .where div[data-key="field"] dd')]
    .some((dd) => dd.textContent === 'student-number'));
  await assertAccessible(page, 'the dashboard with a test chosen');
  await assertFits(page, 'a laptop');

  // The tests come 100 at a time: with 103 tests, "More tests" brings the last 3.
  const many = [...Array(100).keys()].map((i) => `<mcq-test-result><student-number>4001</student-number>` +
    `<test-id>page-${String(i).padStart(3, '0')}</test-id><summary-marks available="20" obtained="10"/></mcq-test-result>`);
  await post(base, `<mcq-test-results>${many.join('')}</mcq-test-results>`);
  await page.waitForSelector('#more-tests:not([hidden])', { timeout: TIMEOUT });
  assert.equal(await page.locator('#tests li').count(), 100);
  await page.click('#more-tests', { timeout: TIMEOUT });
  await until(page, () => document.querySelectorAll('#tests li').length === 103);
  assert.equal(await page.isHidden('#more-tests'), true);
  const ids = await testIds(page);
  assert.deepEqual(ids, [...ids].sort());

  // The Items view: the item analysis of the chosen test, following imports live.
  const sheet = (student, obtained, answers) => `<mcq-test-result><student-number>${student}</student-number>` +
    `<test-id>items-test</test-id>` + answers.map(([q, r, aw, av]) =>
      `<answer question="${q}" marks-available="${av}" marks-awarded="${aw}">${r}</answer>`).join('') +
    `<summary-marks available="3" obtained="${obtained}"/></mcq-test-result>`;
  await post(base, `<mcq-test-results>${sheet('s1', 3, [['1', 'A', 1, 1], ['2', 'B', 2, 2]])}` +
             `${sheet('s2', 1, [['1', 'C', 0, 1], ['2', 'B', 1, 2]])}</mcq-test-results>`);
  await page.click('#tests a[data-test-id="items-test"]', { timeout: TIMEOUT });
  await page.waitForFunction(() => document.querySelectorAll('#items-table tbody tr').length === 2, null,
                             { timeout: TIMEOUT });
  assert.equal(await page.textContent('#items-students'), '2');
  assert.equal(await page.textContent('#items-table tr[data-question="1"] .facility'), '50.0%');
  assert.equal(await page.textContent('#items-table tr[data-question="2"] .facility'), '75.0%');
  assert.match(await page.textContent('#items-table tr[data-question="1"] .responses'), /A 1 \(↑1 ↓0\)\s*C 1 \(↑0 ↓1\)/);
  // s2 rescanned higher: question 1 right, question 3 new (a blank). The page follows.
  await post(base, `<mcq-test-results>${sheet('s2', 2, [['1', 'A', 1, 1], ['2', 'B', 1, 2], ['3', ' ', 0, 1]])}` +
             `</mcq-test-results>`);
  await page.waitForFunction(() => document.querySelectorAll('#items-table tbody tr').length === 3, null,
                             { timeout: TIMEOUT });
  assert.equal(await page.textContent('#items-table tr[data-question="1"] .facility'), '100.0%');
  assert.match(await page.textContent('#items-table tr[data-question="1"] .flags'), /too easy/);
  assert.match(await page.textContent('#items-table tr[data-question="3"] .responses'), /\(blank\) 1/);
  const api = await (await fetch(`${base}/results/items-test/items`)).json();
  assert.equal(await page.textContent('#items-alpha'), api.alpha === null ? '–' : api.alpha.toFixed(3));
  await page.screenshot({ path: path.join(shots, 'dashboard-items.png'), fullPage: true });
  // Back to the test the rest follows.
  await page.click('#tests a[data-test-id="city-hall"]', { timeout: TIMEOUT });
  await until(page, () => document.querySelectorAll('#students tbody tr').length === 4);

  await page.screenshot({ path: path.join(shots, 'dashboard-laptop.png'), fullPage: true });
  await page.setViewportSize({ width: 3840, height: 2160 }); // a wall screen
  await assertFits(page, 'a 4K wall screen');
  await page.screenshot({ path: path.join(shots, 'dashboard-wall.png') });

  // A city hall's wall of screens: ten more tabs of the same browser, each showing the test,
  // all fill their tables, and every tab's live updates come over one shared connection.
  const tabs = [];
  for (let i = 0; i < 10; i++) {
    const tab = await guardedPage(context, errors, foreign);
    await tab.goto(`${base}/#test=city-hall`);
    tabs.push(tab);
  }
  for (const tab of tabs) {
    await until(tab, () => document.querySelectorAll('#students tbody tr').length === 4);
    await until(tab, () => document.getElementById('live').textContent === 'live');
  }
  assert.equal(await gauge(base, 'markr_stream_clients'), 1, 'eleven tabs, one stream');
  await post(base, doc('city-hall', [['1005', 0, 'Barbara']]));
  for (const tab of tabs) {
    await until(tab, () => document.getElementById('count').textContent === '5');
    await until(tab, () => document.querySelectorAll('#students tbody tr').length === 5);
  }
  await until(page, () => document.getElementById('count').textContent === '5');
  for (const tab of tabs) await tab.close();

  // A phone, whose browser (as some mobile ones) has no shared workers: the page holds its
  // own stream and follows imports all the same; the chosen test fits 390 px without
  // scrolling sideways.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await phone.addInitScript(() => { delete window.SharedWorker; });
  const phonePage = await guardedPage(phone, errors, foreign);
  await phonePage.goto(`${base}/#test=city-hall`);
  await until(phonePage, () => document.querySelectorAll('#students tbody tr').length === 5);
  await until(phonePage, () => document.getElementById('live').textContent === 'live');
  assert.equal(await gauge(base, 'markr_stream_clients'), 2, 'the first browser\'s stream and the phone\'s');
  await post(base, doc('city-hall', [['1006', 4, 'Frances']]));
  await until(phonePage, () => document.querySelectorAll('#students tbody tr').length === 6);
  await phonePage.click('#refused summary');
  await phonePage.waitForSelector('#refused-list li', { timeout: TIMEOUT });
  await assertFits(phonePage, 'a 390 px phone');
  await assertAccessible(phonePage, 'the dashboard on a phone');
  await phonePage.screenshot({ path: path.join(shots, 'dashboard-phone.png'), fullPage: true });
  await phone.close();

  assert.deepEqual(foreign, [], 'the page asked for something beyond the server');
  assert.deepEqual(errors, [], 'the page reported errors');
  console.log(`browser: dashboard uploaded, followed the imports in eleven tabs over one stream; screenshots in ${shots}`);

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
    // Chromium reports each 401 and 403 as a failed resource; those are the point of this case.
    if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) tokenErrors.push(m.text());
  });
  await tokenPage.goto(`${guarded}/`);
  await tokenPage.click('#tests a[data-test-id="city-hall"]', { timeout: TIMEOUT });
  await until(tokenPage, () => document.getElementById('count').textContent === '6');
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
  await until(tokenPage, () => document.querySelectorAll('#students tbody tr').length === 6);
  assert.equal(await tokenPage.isHidden('#auth'), true);
  assert.equal(await tokenPage.inputValue('#auth-token'), '');
  assert.equal(await tokenPage.evaluate(() => sessionStorage.getItem('markr-token')), readerToken);
  assert.equal(await tokenPage.evaluate(() => localStorage.length), 0);
  assert.equal(await tokenPage.evaluate(() => document.cookie), '');
  assert.deepEqual([...new Set(sent)].sort(), [null, 'Bearer not-the-reader-token-at-all', `Bearer ${readerToken}`].sort());

  // The token lasts for the tab's session: a reload asks nothing.
  sent.length = 0;
  await tokenPage.reload();
  await tokenPage.click('#tests a[data-test-id="city-hall"]', { timeout: TIMEOUT });
  await until(tokenPage, () => document.querySelectorAll('#students tbody tr').length === 6);
  assert.equal(await tokenPage.isHidden('#auth'), true);
  assert.ok(sent.length > 0 && sent.every((h) => h === `Bearer ${readerToken}`), `sent ${sent}`);
  await tokenPage.screenshot({ path: path.join(shots, 'dashboard-token.png'), fullPage: true });
  assert.deepEqual(tokenErrors, [], 'the page with tokens reported errors');
  console.log('browser: the dashboard asked for a reader token and used it');

  // The refused imports are the vault's: a reader token is not enough (403), an operator's is.
  await tokenPage.click('#refused summary');
  await tokenPage.waitForSelector('#refused-note:not([hidden]) button', { timeout: TIMEOUT });
  assert.match(await tokenPage.textContent('#refused-note'), /operator token/);
  assert.equal(await tokenPage.locator('#refused-list li').count(), 0);
  await tokenPage.click('#refused-note button');
  await tokenPage.waitForSelector('#auth:not([hidden])', { timeout: TIMEOUT });
  assert.equal(await tokenPage.textContent('#auth-title'), 'Refused imports need an operator token.');
  await tokenPage.fill('#auth-token', operatorToken);
  await tokenPage.press('#auth-token', 'Enter');
  await tokenPage.waitForSelector(`#refused-list li[data-import-id="${xssId}"]`, { timeout: TIMEOUT });
  assert.equal(await tokenPage.isHidden('#refused-note'), true);
  assert.equal(await tokenPage.evaluate(() => sessionStorage.getItem('markr-token')), operatorToken);
  assert.deepEqual(tokenErrors, [], 'the page with tokens reported errors');
  console.log('browser: the refused imports needed an operator token');

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
