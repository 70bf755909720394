// Markr dashboard, Items view: for the chosen test, the item analysis of
// GET /results/{test-id}/items (README "Item analysis"): the whole-test figures and, per
// question, facility, discrimination, flags and the responses of the upper and lower groups.
// A view of the chosen test like those of test-views.js (app.js lists it): show(test) when
// a test is chosen, changed(test) after its marks changed; this file owns nothing else of
// the page.
'use strict';

import { enc, getJSON } from './api.js';

const $ = (id) => document.getElementById(id);

export function itemsView() {
  let request = 0; // only the latest answer is shown (changes race a new choice)

  const num = (x, digits) => (x === null ? '–' : x.toFixed(digits));

  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function responses(item) {
    const td = document.createElement('td');
    td.className = 'responses';
    for (const r of item.responses) {
      const span = document.createElement('span');
      span.className = 'response';
      span.dataset.response = r.response;
      span.textContent = `${r.response === '' ? '(blank)' : r.response} ${r.count} (↑${r.upper} ↓${r.lower})`;
      span.title = `${r.count} chose it: ${r.upper} of the upper group, ${r.lower} of the lower group`;
      td.append(span);
    }
    return td;
  }

  function render(a) {
    const whole = { 'items-students': String(a.students), 'items-questions': String(a.questions),
      'items-mean': num(a.mean_total, 2), 'items-sd': num(a.sd_total, 2), 'items-alpha': num(a.alpha, 3),
      'items-sem': num(a.sem, 2) };
    for (const [id, text] of Object.entries(whole)) $(id).textContent = text;
    $('items-table').tBodies[0].replaceChildren(...a.items.map((item) => {
      const tr = document.createElement('tr');
      tr.dataset.question = item.question;
      tr.append(cell(item.question), cell(String(item.answered), 'num'),
        cell(item.facility === null ? '–' : `${item.facility.toFixed(1)}%`, 'num facility'),
        cell(num(item.discrimination, 2), 'num discrimination'),
        cell(item.flags.map((f) => f.replaceAll('_', ' ')).join(', '), 'flags'), responses(item));
      return tr;
    }));
    $('items-none').hidden = a.items.length !== 0;
  }

  async function load(test) {
    const ticket = ++request;
    let a = null;
    try {
      a = await getJSON(`/results/${enc(test)}/items`);
    } catch (e) {
      if (e.status !== 404) throw e; // a test without marks (a rebuild emptied it) shows none
    }
    if (ticket !== request) return;
    $('items').hidden = a === null;
    if (a !== null) render(a);
  }

  return {
    show: load,
    changed: load,
  };
}
