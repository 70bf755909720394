// Markr dashboard: the tests, and for the chosen one (kept in the URL, #test=ID) its views,
// kept current by the server's one event stream, shared by every tab (live.js, ADR 0029).
// Plain JavaScript modules, no dependency, no CDN; everything is compiled into the server.
'use strict';

import { enc, getJSON } from './api.js';
import { connectLive } from './live.js';
import { refusedView } from './refused.js';
import { itemsView } from './items.js';
import { figuresView, histogramView, studentsView } from './test-views.js';
import { uploadControl } from './upload.js';

const TEST_PAGE = 100;
const $ = (id) => document.getElementById(id);
const state = { test: null, testPages: 1, testsCursor: null };

// The views of the chosen test (test-views.js says what a view is): each is told when a test
// is chosen and when its marks changed. A new view is one more entry here.
const views = [figuresView(), histogramView(), studentsView(), itemsView()];
const refused = refusedView();

function testItem(t) {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.href = `#test=${enc(t.test_id)}`;
  a.dataset.testId = t.test_id;
  if (t.test_id === state.test) a.setAttribute('aria-current', 'page');
  const name = document.createElement('span');
  name.textContent = t.test_id;
  const n = document.createElement('span');
  n.className = 'n';
  n.textContent = t.students;
  n.setAttribute('aria-label', `${t.students} students`);
  a.append(name, n);
  li.append(a);
  return li;
}

// GET /tests comes a page at a time in test id order (keyset cursor). The list shows the
// pages asked for so far; "More tests" asks for the next; an import reloads as many.
async function fetchTestPages(pages) {
  const tests = [];
  let cursor = null;
  for (let i = 0; i < pages; i++) {
    const query = `limit=${TEST_PAGE}` + (cursor !== null ? `&cursor=${enc(cursor)}` : '');
    const page = await getJSON(`/tests?${query}`);
    tests.push(...page.tests);
    cursor = page.next_cursor;
    if (cursor === null) break;
  }
  return { tests, cursor };
}

function showTests(tests, cursor, append) {
  const list = $('tests');
  const focused = document.activeElement?.closest('#tests') ? document.activeElement.dataset.testId : null;
  if (append) list.append(...tests.map(testItem));
  else list.replaceChildren(...tests.map(testItem));
  state.testsCursor = cursor;
  $('more-tests').hidden = cursor === null;
  $('no-tests').hidden = list.children.length !== 0;
  if (focused != null) list.querySelector(`a[data-test-id="${CSS.escape(focused)}"]`)?.focus(); // a reload keeps focus
}

async function loadTests() {
  const { tests, cursor } = await fetchTestPages(state.testPages);
  showTests(tests, cursor, false);
}

async function loadMoreTests() {
  if (state.testsCursor === null) return;
  const page = await getJSON(`/tests?limit=${TEST_PAGE}&cursor=${enc(state.testsCursor)}`);
  state.testPages += 1;
  showTests(page.tests, page.next_cursor, true);
}

function each(method) {
  for (const view of views) view[method](state.test).catch(console.error);
}

function choose(test) {
  if (test === state.test) return;
  state.test = test;
  $('test').hidden = test === null;
  $('choose').hidden = test !== null;
  for (const a of document.querySelectorAll('#tests a')) {
    if (a.dataset.testId === test) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (test === null) return;
  $('test-title').textContent = `Test ${test}`;
  each('show');
}

// The chosen test lives in the URL's fragment, so a reload, a link or the back button
// brings it back; the fragment never reaches the server.
function testInUrl() {
  const m = /^#test=(.+)$/.exec(location.hash);
  if (!m) return null;
  try { return decodeURIComponent(m[1]); } catch { return null; }
}

// A burst of events reloads once: the first starts a short wait, the events during it are
// covered by the one reload that follows.
function coalesce(fn) {
  let timer = null;
  return () => {
    if (timer !== null) return;
    timer = setTimeout(() => { timer = null; fn(); }, 300);
  };
}
const scheduleTests = coalesce(() => loadTests().catch(console.error));
const scheduleChanged = coalesce(() => { if (state.test !== null) each('changed'); });

function showLive(live) {
  $('live').className = live ? 'live on' : 'live off';
  $('live').textContent = live ? 'live' : 'reconnecting';
}

function receive(message) {
  if (message.type === 'live') showLive(message.live);
  // What came while the stream was down, or while the server could not tell, is read again.
  if (message.reopened || message.type === 'resync') {
    scheduleTests();
    scheduleChanged();
  } else if (message.type === 'import') {
    scheduleTests();
    const { flush, tests } = message.change;
    if (flush || (tests ?? []).includes(state.test)) scheduleChanged();
  }
}

// Arrow keys, Home and End move through the list of tests; Enter opens one (a link).
$('tests').addEventListener('keydown', (e) => {
  const links = [...$('tests').querySelectorAll('a')];
  const at = links.indexOf(document.activeElement);
  const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: links.length - 1 }[e.key];
  if (at < 0 || to === undefined || !links[to]) return;
  e.preventDefault();
  links[to].focus();
});

// The skip link moves focus without touching the URL (its fragment is the chosen test).
$('skip').addEventListener('click', (e) => {
  e.preventDefault();
  if (state.test !== null) $('test').focus();
  else $('tests').querySelector('a')?.focus();
});
$('curl-example').textContent =
  `curl -X POST ${location.origin}/import -H 'Content-Type: text/xml+markr' --data-binary @results.xml`;
$('more-tests').addEventListener('click', () => loadMoreTests().catch(console.error));
addEventListener('hashchange', () => choose(testInUrl()));
uploadControl(() => refused.reload());
connectLive(receive);
loadTests().catch(console.error);
choose(testInUrl());
