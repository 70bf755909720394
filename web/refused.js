// For operators: the newest refused imports with their reasons (GET /imports?status=rejected,
// the vault, which needs an operator token once tokens are set). Read when opened.
'use strict';

import { askToken, getJSON } from './api.js';
import { describeRefusal } from './upload.js';

const LIMIT = 20;
const WHY = 'Refused imports need an operator token.';
const $ = (id) => document.getElementById(id);

export function refusedView() {
  const details = $('refused');
  const note = $('refused-note');
  let ticket = 0;

  function say(text, button) {
    note.replaceChildren(text);
    if (button) note.append(' ', button);
    note.hidden = false;
  }

  async function load() {
    if (!details.open) return;
    const mine = ++ticket;
    let page;
    try {
      page = await getJSON(`/imports?status=rejected&limit=${LIMIT}`, WHY);
    } catch (e) {
      if (mine !== ticket) return;
      $('refused-list').replaceChildren();
      if (e.status !== 403) return say(`Refused imports could not be read (${e.status ?? e.message}).`);
      const other = document.createElement('button');
      other.type = 'button';
      other.textContent = 'Use another token';
      other.addEventListener('click', () => askToken(false, WHY).then(load));
      return say('This token may read results but not the vault: ' + WHY, other);
    }
    if (mine !== ticket) return;
    note.hidden = page.imports.length !== 0;
    if (page.imports.length === 0) say('No import was refused.');
    $('refused-list').replaceChildren(...page.imports.map((i) => {
      const li = document.createElement('li');
      li.dataset.importId = i.import_id;
      const when = document.createElement('p');
      when.className = 'muted';
      when.textContent = `Import ${i.import_id}, ${new Date(i.received_at).toLocaleString()}, ${i.size_bytes} bytes`;
      li.append(when, ...describeRefusal(i.reason));
      return li;
    }));
  }

  const reload = () => load().catch(console.error);
  details.addEventListener('toggle', reload);
  $('refused-reload').addEventListener('click', reload);
  return { reload };
}
