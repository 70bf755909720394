// Markr dashboard: the tests, and for the chosen one its figures, histogram and students,
// kept current by the server's event streams. Plain JavaScript, no dependency, no CDN.
'use strict';

const PAGE = 25;
const BINS = 10;
const TEST_PAGE = 100;
const state = { test: null, stream: null, offset: 0, total: 0, sort: 'percent', order: 'desc',
  testPages: 1, testsCursor: null };
const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

// Names and marks may need a bearer token (ADR 0021). It is asked for in the page's own
// form when a read answers 401, kept in sessionStorage only (gone with the tab), and sent
// with every read; the event streams carry no personal data and need none.
const TOKEN_KEY = 'markr-token';
let tokenAsked = null; // one question for every read waiting on a token

function askToken(rejected) {
  if (tokenAsked) return tokenAsked;
  tokenAsked = new Promise((resolve) => {
    const form = $('auth');
    $('auth-error').hidden = !rejected;
    form.hidden = false;
    $('auth-token').focus();
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('auth-token').value);
      $('auth-token').value = '';
      form.hidden = true;
      tokenAsked = null;
      resolve();
    }, { once: true });
  });
  return tokenAsked;
}

async function getJSON(path) {
  for (;;) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    const res = await fetch(path, { cache: 'no-store', headers });
    if (res.status === 401) {
      if (sessionStorage.getItem(TOKEN_KEY) === token) { // else a newer token came meanwhile
        sessionStorage.removeItem(TOKEN_KEY);
        await askToken(token !== null);
      }
      continue;
    }
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    return res.json();
  }
}

function fmt(x) {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

function testItem(t) {
  const li = document.createElement('li');
  const b = document.createElement('button');
  b.dataset.testId = t.test_id;
  b.setAttribute('aria-current', String(t.test_id === state.test));
  const name = document.createElement('span');
  name.textContent = t.test_id;
  const n = document.createElement('span');
  n.className = 'n';
  n.textContent = t.students;
  b.append(name, n);
  b.addEventListener('click', () => choose(t.test_id));
  li.append(b);
  return li;
}

// GET /tests comes a page at a time (keyset cursor). The list shows the pages asked for so
// far; "More tests" asks for the next; an import reloads the same number of pages, no more.
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
  if (append) list.append(...tests.map(testItem));
  else list.replaceChildren(...tests.map(testItem));
  state.testsCursor = cursor;
  $('more-tests').hidden = cursor === null;
  $('no-tests').hidden = list.children.length !== 0;
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

function showFigures(a) {
  for (const key of ['count', 'mean', 'stddev', 'min', 'p25', 'p50', 'p75', 'max']) {
    const dd = $(key);
    const text = key === 'count' ? String(a[key]) : `${fmt(a[key])}%`;
    if (dd.textContent !== text) {
      dd.textContent = text;
      dd.classList.add('changed');
      setTimeout(() => dd.classList.remove('changed'), 1000);
    }
  }
}

async function loadHistogram() {
  const test = state.test;
  const h = await getJSON(`/results/${enc(test)}/histogram?bins=${BINS}`);
  if (test !== state.test) return;
  const max = Math.max(1, ...h.bands.map((b) => b.count));
  $('histogram').replaceChildren(...h.bands.map((b) => {
    const band = document.createElement('div');
    band.className = 'band';
    band.dataset.from = b.from;
    band.dataset.count = b.count;
    const count = document.createElement('div');
    count.className = 'count';
    count.textContent = b.count || '';
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.style.height = `${(85 * b.count) / max}%`;
    const label = document.createElement('div');
    label.className = 'label';
    label.textContent = `${fmt(b.from)}–${fmt(b.to)}`;
    band.append(count, bar, label);
    return band;
  }));
}

let studentsRequest = 0; // only the latest request's page is shown (clicks race live refreshes)

async function loadStudents() {
  const ticket = ++studentsRequest;
  const page = await getJSON(`/results/${enc(state.test)}?limit=${PAGE}&offset=${state.offset}` +
                             `&sort=${state.sort}&order=${state.order}`);
  if (ticket !== studentsRequest) return;
  state.total = page.total;
  $('students').tBodies[0].replaceChildren(...page.results.map((r) => {
    const tr = document.createElement('tr');
    const name = [r.first_name, r.last_name].filter(Boolean).join(' ');
    for (const [text, num] of [[r.student_number], [name], [r.obtained, 1], [r.available, 1], [`${fmt(r.percent)}%`, 1]]) {
      const td = document.createElement('td');
      td.textContent = text;
      if (num) td.className = 'num';
      tr.append(td);
    }
    return tr;
  }));
  const last = Math.min(state.offset + PAGE, state.total);
  $('page').textContent = state.total ? `${state.offset + 1}–${last} of ${state.total}` : '';
  $('prev').disabled = state.offset === 0;
  $('next').disabled = last >= state.total;
}

function refreshDetails() {
  loadHistogram().catch(console.error);
  loadStudents().catch(console.error);
}

function choose(test) {
  if (state.stream) state.stream.close();
  state.test = test;
  state.offset = 0;
  $('test').hidden = false;
  $('choose').hidden = true;
  $('test-title').textContent = `Test ${test}`;
  for (const b of document.querySelectorAll('#tests button')) {
    b.setAttribute('aria-current', String(b.dataset.testId === test));
  }
  // The stream sends the current figures on connect, then one event per change.
  const stream = new EventSource(`/results/${enc(test)}/aggregate/stream`);
  stream.addEventListener('aggregate', (e) => {
    if (state.stream !== stream) return;
    showFigures(JSON.parse(e.data));
    refreshDetails();
  });
  state.stream = stream;
  refreshDetails();
  window.markrItems.show(test); // the Items view (items.js)
}

function watchImports() {
  const events = new EventSource('/events');
  events.addEventListener('open', () => { $('live').className = 'live on'; $('live').textContent = 'live'; });
  events.addEventListener('error', () => { $('live').className = 'live off'; $('live').textContent = 'reconnecting'; });
  events.addEventListener('import', scheduleTests);
  events.addEventListener('import', (e) => window.markrItems.changed(JSON.parse(e.data)));
}

// A burst of imports reloads the list once: the first event starts a short wait, and the
// events during it are covered by the one reload that follows.
let testsTimer = null;
function scheduleTests() {
  if (testsTimer !== null) return;
  testsTimer = setTimeout(() => {
    testsTimer = null;
    loadTests().catch(console.error);
  }, 300);
}

$('prev').addEventListener('click', () => { state.offset = Math.max(0, state.offset - PAGE); loadStudents(); });
$('next').addEventListener('click', () => { state.offset += PAGE; loadStudents(); });
for (const b of document.querySelectorAll('th button')) {
  b.addEventListener('click', () => {
    const sort = b.dataset.sort;
    state.order = state.sort === sort && state.order === 'desc' ? 'asc' : 'desc';
    state.sort = sort;
    state.offset = 0;
    loadStudents();
  });
}
watchImports();
$('more-tests').addEventListener('click', () => loadMoreTests().catch(console.error));
loadTests().catch(console.error);
