// Helpers of the browser test (dashboard.mjs): documents, imports through the API, waiting
// on the page, the server's metrics, and axe-core's accessibility check.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// Generous: the machine that runs the tests may be heavily loaded.
export const TIMEOUT = 30000;

export function doc(test, marks) {
  const results = marks.map(([student, obtained, first]) =>
    `<mcq-test-result><first-name>${first ?? ''}</first-name><student-number>${student}</student-number>` +
    `<test-id>${test}</test-id><summary-marks available="20" obtained="${obtained}"/></mcq-test-result>`);
  return `<mcq-test-results>${results.join('')}</mcq-test-results>`;
}

export async function post(base, body) {
  const res = await fetch(`${base}/import`, { method: 'POST', headers: { 'content-type': 'text/xml+markr' }, body });
  assert.equal(res.status, 201, await res.text());
}

export function until(page, fn, arg) {
  return page.waitForFunction(fn, arg, { timeout: TIMEOUT });
}

export async function bands(page) {
  return page.$$eval('#histogram .band', (els) => els.map((e) => Number(e.dataset.count)));
}

// A gauge of GET /metrics, e.g. markr_stream_clients.
export async function gauge(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

// The page's width fits its window: nothing scrolls sideways.
export async function assertFits(page, what) {
  const { scroll, inner } = await page.evaluate(() =>
    ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  assert.ok(scroll <= inner, `${what}: the page is ${scroll} px wide in a ${inner} px window`);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// axe-core's WCAG 2 A and AA rules on the page as it is; any serious or critical violation
// fails. axe runs through the DevTools protocol, so the page's own CSP is left as it is.
export async function assertAccessible(page, what) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${what}: axe-core violations ${JSON.stringify(bad)}`);
  return violations;
}
