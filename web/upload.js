// The upload control: a document picked or dropped is sent to POST /import as it is, and
// the answer shown: what was imported, or the refusal with where in the document it is.
'use strict';

import { enc, postImport } from './api.js';

const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

// A refusal as the error answer gives it ({error, message, result_index, line, field}):
// a heading line and a list of where, for the upload's answer and the refused imports.
export function describeRefusal(reason, status) {
  const message = reason?.message ? `: ${reason.message}` : '';
  const head = el('p', `${status ? `Refused (${status}) ` : ''}${reason?.error ?? 'refused'}${message}`, 'refusal');
  const where = el('dl', undefined, 'where');
  for (const [key, label] of [['result_index', 'Result'], ['line', 'Line'], ['field', 'Field']]) {
    if (reason?.[key] === undefined || reason[key] === null) continue;
    const item = el('div');
    item.append(el('dt', label), el('dd', String(reason[key])));
    item.dataset.key = key;
    where.append(item);
  }
  return where.children.length ? [head, where] : [head];
}

function accepted(body) {
  const p = el('p', `Imported ${body.results} result${body.results === 1 ? '' : 's'} ` +
                    `(${body.students} student${body.students === 1 ? '' : 's'}) as import ${body.import_id}: `, 'accepted');
  (body.tests ?? []).forEach((t, i) => {
    if (i > 0) p.append(', ');
    const a = el('a', t);
    a.href = `#test=${enc(t)}`;
    p.append(a);
  });
  return [p];
}

// onAnswer(status) is told of every answer (the refused imports may have one more).
export function uploadControl(onAnswer) {
  const input = $('upload-file');
  const drop = $('drop');
  const out = $('upload-result');

  async function send(file) {
    if (!file) return;
    out.replaceChildren(el('p', `Sending ${file.name}…`));
    let answer;
    try {
      answer = await postImport(file);
    } catch (e) {
      out.replaceChildren(el('p', `${file.name} could not be sent: ${e.message}`, 'refusal'));
      return;
    }
    out.replaceChildren(...(answer.status === 201 ? accepted(answer.body) : describeRefusal(answer.body, answer.status)));
    out.dataset.status = answer.status;
    onAnswer(answer.status);
  }

  input.addEventListener('change', () => {
    send(input.files[0]);
    input.value = ''; // the same file may be sent again
  });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    send(e.dataTransfer.files[0]);
  });
}
