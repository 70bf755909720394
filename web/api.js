// The dashboard's reads and its one write (an upload), with the access token they may need.
'use strict';

export const enc = encodeURIComponent;

// Names, marks and the vault may need a bearer token (ADR 0021). It is asked for in the
// page's own form when a read answers 401, kept in sessionStorage only (gone with the tab),
// and sent with every read; the event stream carries no personal data and needs none.
const TOKEN_KEY = 'markr-token';
let tokenAsked = null; // one question for every read waiting on a token

const $ = (id) => document.getElementById(id);

// A read the server refused: its status and, when it sent one, its JSON error.
export class HttpError extends Error {
  constructor(path, status, body) {
    super(`${path}: ${status}`);
    this.status = status;
    this.body = body;
  }
}

// Shows the token form (why: what needs it), resolved once a token was entered.
export function askToken(rejected, why) {
  if (tokenAsked) return tokenAsked;
  tokenAsked = new Promise((resolve) => {
    const form = $('auth');
    $('auth-title').textContent = why ?? 'Names and marks need an access token.';
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

async function errorBody(res) {
  try { return await res.json(); } catch { return null; }
}

// GET path as JSON. A 401 asks for a token (why says for what) and tries again with it;
// any other failure is an HttpError.
export async function getJSON(path, why) {
  for (;;) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    const res = await fetch(path, { cache: 'no-store', headers });
    if (res.status === 401) {
      if (sessionStorage.getItem(TOKEN_KEY) === token) { // else a newer token came meanwhile
        sessionStorage.removeItem(TOKEN_KEY);
        await askToken(token !== null, why);
      }
      continue;
    }
    if (!res.ok) throw new HttpError(path, res.status, await errorBody(res));
    return res.json();
  }
}

// POST /import of a file: { status, body } whatever the status (a refusal is an answer).
export async function postImport(file) {
  const res = await fetch('/import', { method: 'POST', headers: { 'Content-Type': 'text/xml+markr' }, body: file });
  return { status: res.status, body: await errorBody(res) };
}
