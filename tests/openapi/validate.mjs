// Validates real answers of a Markr server against the OpenAPI description it serves:
//   node validate.mjs BASE_URL FIXTURE ADMIN_TOKEN
// Calls every operation of the document at least once (successes and errors), and checks
// that each answer's status is documented for its operation, that its media type is one the
// document names, and that a JSON body (or an event stream's first event) validates
// against the documented schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it).
// Exits 1 on the first answer that does not match, naming it.
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [base, fixturePath, adminToken] = process.argv.slice(2);
if (!base || !fixturePath || !adminToken) {
  console.error('usage: node validate.mjs BASE_URL FIXTURE ADMIN_TOKEN');
  process.exit(2);
}

const fail = (message) => {
  console.error(`openapi: ${message}`);
  process.exit(1);
};

const doc = await (await fetch(`${base}/openapi.json`)).json();
if (!String(doc.openapi).startsWith('3.1.')) fail(`not OpenAPI 3.1: ${doc.openapi}`);

// The document's components under an id of their own, so that every "#/components/..."
// of an operation resolves there.
const DOC_ID = 'https://markr.invalid/openapi.json';
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: DOC_ID, components: doc.components });
const compiled = new Map();
const validatorOf = (schema) => {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) {
    const rebased = JSON.parse(key.replaceAll('"#/components/', `"${DOC_ID}#/components/`));
    compiled.set(key, ajv.compile(rebased));
  }
  return compiled.get(key);
};
const deref = (o) => (o && o.$ref ? o.$ref.slice(2).split('/').reduce((at, k) => at[k], doc) : o);

// The template of a path, as the server's router takes it: same segments, equal literals.
const templates = Object.keys(doc.paths);
const templateOf = (path) => {
  const segments = path.split('?')[0].split('/');
  return templates.find((t) => {
    const ts = t.split('/');
    return ts.length === segments.length && ts.every((s, i) => s.startsWith('{') || s === segments[i]);
  });
};

const called = new Set();
let checked = 0;

// The first event of a stream, then the stream is closed.
async function firstEvent(res) {
  const reader = res.body.getReader();
  let text = '';
  while (!/\n\n/.test(text.replace(/^(:[^\n]*\n|retry:[^\n]*\n)+\n?/, ''))) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  const data = text.split('\n').find((l) => l.startsWith('data: '));
  return data ? data.slice(6) : null;
}

async function call(method, path, { headers = {}, body, status, event = false } = {}) {
  const template = templateOf(path);
  const name = `${method} ${path}`;
  if (!template) fail(`${name}: no path of the document takes it`);
  const op = doc.paths[template][method.toLowerCase()];
  const controller = new AbortController();
  const res = await fetch(base + path, { method, headers, body, signal: controller.signal });
  if (status !== undefined && res.status !== status) fail(`${name}: status ${res.status}, the test expects ${status}`);
  if (!op) {
    // A method the route does not have: the server must say 405, documented or not.
    if (res.status !== 405) fail(`${name}: undocumented method answered ${res.status}`);
    await res.arrayBuffer();
    return { res };
  }
  called.add(`${method.toLowerCase()} ${template}`);
  const documented = deref(op.responses[String(res.status)] ?? op.responses.default);
  if (!documented) fail(`${name}: status ${res.status} is not documented for ${method} ${template}`);
  const type = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  let parsed;
  if (res.status === 304 || res.status === 204) {
    if ((await res.arrayBuffer()).byteLength !== 0) fail(`${name}: a ${res.status} with a body`);
  } else if (documented.content) {
    if (!(type in documented.content)) fail(`${name}: Content-Type ${type} is not documented (${Object.keys(documented.content)})`);
    const schema = documented.content[type].schema;
    let text;
    if (event) {
      text = await firstEvent(res);
      controller.abort();
      if (text === null) fail(`${name}: no event`);
      const data = doc.components.schemas.Aggregate; // the data of an aggregate event
      const validate = validatorOf({ $ref: '#/components/schemas/Aggregate' });
      if (!validate(JSON.parse(text))) fail(`${name}: event data ${text}: ${ajv.errorsText(validate.errors)}`);
      void data;
    } else {
      text = await res.text();
      if (type === 'application/json') {
        parsed = JSON.parse(text);
        const validate = validatorOf(schema);
        if (!validate(parsed)) fail(`${name}: ${res.status} ${text.slice(0, 300)}: ${ajv.errorsText(validate.errors)}`);
      }
    }
  } else {
    await res.arrayBuffer();
  }
  ++checked;
  return { res, body: parsed };
}

const xml = 'text/xml+markr';
const admin = { Authorization: `Bearer ${adminToken}` };
const fixture = readFileSync(fixturePath);

await call('GET', '/health', { status: 200 });
await call('GET', '/ready', { status: 200 });
const { body: imported } = await call('POST', '/import', { headers: { 'Content-Type': xml }, body: fixture, status: 201 });
const id = imported.import_id;
await call('POST', '/import', { headers: { 'Content-Type': xml }, body: '<mcq-test-results>', status: 400 });
await call('POST', '/import', { headers: { 'Content-Type': xml }, body: '<other/>', status: 422 });
await call('POST', '/import', { headers: { 'Content-Type': 'text/html' }, body: '<x/>', status: 415 });
await call('POST', '/import', { headers: { 'Content-Type': xml, Prefer: 'respond-async' }, body: fixture, status: 202 });
await call('DELETE', '/import', { status: 405 });

const { res: agg } = await call('GET', '/results/9863/aggregate', { status: 200 });
await call('GET', '/results/9863/aggregate', { headers: { 'If-None-Match': agg.headers.get('etag') }, status: 304 });
await call('GET', '/results/no-such-test/aggregate', { status: 404 });
await call('GET', '/results/%zz/aggregate', { status: 400 });

await call('GET', '/imports', { status: 200 });
await call('GET', '/imports?limit=0', { status: 400 });
const { body: info } = await call('GET', `/imports/${id}`, { status: 200 });
await call('GET', `/imports?sha256=${info.sha256}`, { status: 200 });
await call('GET', '/imports?sha256=abc', { status: 400 });
await call('POST', '/import', { headers: { 'Content-Type': xml, 'Content-Encoding': 'br' }, body: fixture, status: 415 });
await call('POST', '/import', { headers: { 'Content-Type': xml, 'Content-Encoding': 'gzip' }, body: 'not gzip', status: 400 });
await call('GET', '/imports/999999999', { status: 404 });
await call('GET', '/imports/abc', { status: 400 });
await call('GET', `/imports/${id}/raw`, { status: 200 });
await call('GET', '/imports/999999999/raw', { status: 404 });
await call('POST', `/imports/${id}/reprocess?dry_run=true`, { headers: admin, status: 200 });
await call('POST', `/imports/${id}/reprocess`, { status: 401 });
await call('POST', `/imports/${id}/reprocess?dry_run=maybe`, { headers: admin, status: 400 });
await call('GET', '/tests/9863/conflicts', { status: 200 });
await call('GET', '/tests/9863/conflicts?limit=x', { status: 400 });

await call('GET', '/tests', { status: 200 });
await call('GET', '/tests?limit=1', { status: 200 });
await call('GET', '/tests?colour=red', { status: 400 });
await call('GET', '/results/9863?sort=percent&order=desc&limit=5', { status: 200 });
await call('GET', '/results/9863?sort=colour', { status: 400 });
await call('GET', '/results/9863?format=csv', { status: 200 });
await call('GET', '/results/9863', { headers: { Accept: 'text/csv' }, status: 200 });
await call('GET', '/results/9863?format=xml', { status: 400 });
await call('GET', '/tests?format=csv', { status: 200 });
await call('GET', '/students?format=csv&limit=5', { status: 200 });
await call('GET', '/students?format=xml', { status: 400 });
await call('GET', '/results/no-such-test', {});
await call('GET', '/students/002299', { status: 200 });
await call('GET', '/students/no-such-student', { status: 404 });
await call('GET', '/students?limit=2&offset=0', { status: 200 });
await call('GET', '/students?limit=0', { status: 400 });
await call('GET', '/feed', { status: 404 }); // this server has no MARKR_FEED_URL
await call('GET', '/results/9863/items', { status: 200 });
await call('GET', '/results/no-such-test/items', { status: 404 });
await call('GET', '/results/9863/items?format=csv', { status: 200 });
await call('GET', '/results/9863/items', { headers: { Accept: 'text/csv' }, status: 200 });
await call('GET', '/results/9863/students/2300', { status: 200 });
await call('GET', '/results/9863/students/no-such-student', { status: 404 });
await call('POST', '/import', {
  headers: { 'Content-Type': 'text/event-stream' },
  body: 'id: 1\nevent: score\ndata: {"exam": 3, "studentId": "s1", "score": 0.5}\n\n',
  status: 201,
});
await call('GET', '/results/9863/histogram?bins=4', { status: 200 });
await call('GET', '/results/9863/histogram?bins=0', { status: 400 });
await call('GET', '/results/no-such-test/histogram', { status: 404 });

await call('GET', '/results/9863/aggregate/stream', { status: 200, event: true });
await call('GET', '/results/no-such-test/aggregate/stream', { status: 404 });
{
  // /events says nothing until an import: its headers are what can be checked.
  const controller = new AbortController();
  const res = await fetch(`${base}/events`, { signal: controller.signal });
  const documented = deref(doc.paths['/events'].get.responses[String(res.status)]);
  if (res.status !== 200 || !documented || !(res.headers.get('content-type') in documented.content))
    fail(`GET /events: ${res.status} ${res.headers.get('content-type')}`);
  controller.abort();
  called.add('get /events');
  ++checked;
}
await call('GET', '/', { status: 200 });
await call('GET', '/static/app.js', { status: 200 });
await call('GET', '/static/no-such-file.js', { status: 404 });
await call('GET', '/metrics', { status: 200 });
await call('GET', '/openapi.json', { status: 200 });

for (const [template, item] of Object.entries(doc.paths))
  for (const method of Object.keys(item))
    if (!called.has(`${method} ${template}`)) fail(`${method.toUpperCase()} ${template} was never called`);
console.log(`openapi: ${checked} answers match the description; every operation called`);
