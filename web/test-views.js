// The views of the chosen test: its figures, its histogram and its students. A view is an
// object with show(test), called when a test is chosen, and changed(test), called after the
// test's marks changed; both return a promise. Each view shows only its latest request's
// answer, so a click that races a live refresh never shows an older page.
'use strict';

import { enc, getJSON } from './api.js';

const PAGE = 25;
const BINS = 10;
const $ = (id) => document.getElementById(id);

export function fmt(x) {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

const FIGURES = ['count', 'mean', 'stddev', 'min', 'p25', 'p50', 'p75', 'max'];

// The aggregate. New figures (not the first ones of a test, not the same ones read again)
// are announced to screen readers through the page's polite live region.
export function figuresView() {
  let ticket = 0;
  let shown = null; // the figures on screen, as JSON text

  async function load(test, isChange) {
    const mine = ++ticket;
    let a = null;
    try {
      a = await getJSON(`/results/${enc(test)}/aggregate`);
    } catch (e) {
      if (e.status !== 404) throw e; // a test without marks (a rebuild emptied it) shows none
    }
    if (mine !== ticket) return;
    for (const key of FIGURES) {
      const dd = $(key);
      const text = a === null ? '–' : key === 'count' ? String(a[key]) : `${fmt(a[key])}%`;
      if (dd.textContent !== text) {
        dd.textContent = text;
        if (isChange) {
          dd.classList.add('changed');
          setTimeout(() => dd.classList.remove('changed'), 1000);
        }
      }
    }
    const text = JSON.stringify(a);
    if (isChange && shown !== null && text !== shown) {
      $('announce').textContent = a === null ? `Test ${test} has no results any more.`
        : `Test ${test}: ${a.count} students, mean ${fmt(a.mean)}%.`;
    }
    shown = text;
    const now = new Date();
    const updated = $('updated');
    updated.dateTime = now.toISOString();
    updated.textContent = now.toLocaleTimeString();
  }

  return {
    show(test) { shown = null; return load(test, false); },
    changed(test) { return load(test, true); },
  };
}

export function histogramView() {
  let ticket = 0;

  async function load(test) {
    const mine = ++ticket;
    let h = { bands: [] };
    try {
      h = await getJSON(`/results/${enc(test)}/histogram?bins=${BINS}`);
    } catch (e) {
      if (e.status !== 404) throw e;
    }
    if (mine !== ticket) return;
    const max = Math.max(1, ...h.bands.map((b) => b.count));
    const histogram = $('histogram');
    histogram.setAttribute('aria-label', 'Students per band: ' +
      h.bands.map((b) => `${fmt(b.from)} to ${fmt(b.to)}%: ${b.count}`).join(', '));
    histogram.replaceChildren(...h.bands.map((b) => {
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

  return { show: load, changed: load };
}

// The students, a page at a time, sorted by a column whose header says which way.
export function studentsView() {
  const s = { test: null, offset: 0, total: 0, sort: 'percent', order: 'desc' };
  let ticket = 0;

  function showSort() {
    for (const b of document.querySelectorAll('#students th button[data-sort]')) {
      const on = b.dataset.sort === s.sort;
      b.closest('th').setAttribute('aria-sort', on ? (s.order === 'asc' ? 'ascending' : 'descending') : 'none');
      b.querySelector('.arrow').textContent = on ? (s.order === 'asc' ? ' ▲' : ' ▼') : '';
    }
  }

  async function load() {
    const mine = ++ticket;
    let page = { total: 0, results: [] };
    try {
      page = await getJSON(`/results/${enc(s.test)}?limit=${PAGE}&offset=${s.offset}&sort=${s.sort}&order=${s.order}`);
    } catch (e) {
      if (e.status !== 404) throw e;
    }
    if (mine !== ticket) return;
    s.total = page.total;
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
    const last = Math.min(s.offset + PAGE, s.total);
    $('page').textContent = s.total ? `${s.offset + 1}–${last} of ${s.total}` : '';
    $('prev').disabled = s.offset === 0;
    $('next').disabled = last >= s.total;
  }

  const reload = () => load().catch(console.error);
  $('prev').addEventListener('click', () => { s.offset = Math.max(0, s.offset - PAGE); reload(); });
  $('next').addEventListener('click', () => { s.offset += PAGE; reload(); });
  for (const b of document.querySelectorAll('#students th button[data-sort]')) {
    b.addEventListener('click', () => {
      s.order = s.sort === b.dataset.sort && s.order === 'desc' ? 'asc' : 'desc';
      s.sort = b.dataset.sort;
      s.offset = 0;
      showSort();
      reload();
    });
  }
  showSort();

  return {
    show(test) { s.test = test; s.offset = 0; return load(); },
    changed() { return load(); },
  };
}
