// Keeps the MOCK honest: every answer of test/mock-api.mjs that the console
// reads is validated against spectre-cp's own OpenAPI document
// (ctrlplane/api/openapi.json, or $OPENAPI_DOC), so the browser tests that pass
// on the mock expect the shapes the real server gives. Exit 77 when the document
// is absent. Last line "N passed, N failed".
import { existsSync, readFileSync } from 'node:fs';

const docPath = process.env.OPENAPI_DOC || new URL('../../ctrlplane/api/openapi.json', import.meta.url).pathname;
if (!existsSync(docPath)) {
  console.log(`SKIP: no OpenAPI document at ${docPath}`);
  process.exit(77);
}
if (!existsSync(new URL('../node_modules/ajv', import.meta.url))) {
  console.log('SKIP: console/node_modules is missing (scripts/setup runs npm ci)');
  process.exit(77);
}
const { default: Ajv2020 } = await import('ajv/dist/2020.js');
const { default: addFormats } = await import('ajv-formats');
const { MOCK_TOKENS, startMock } = await import('./mock-api.mjs');
const doc = JSON.parse(readFileSync(docPath, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, 'openapi');

// The doc's schema for the answer of METHOD path (templated segments like {id} match any value).
function schemaFor(method, path, status) {
  for (const [tpl, ops] of Object.entries(doc.paths)) {
    const re = new RegExp('^' + tpl.replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (!re.test(path)) continue;
    const s = ops[method.toLowerCase()]?.responses?.[String(status)]?.content?.['application/json']?.schema;
    if (s) return s;
  }
  return null;
}

function validator(schema) {
  if (schema.$ref?.startsWith('#/')) return ajv.getSchema(`openapi${schema.$ref}`);
  // An inline schema: its $refs point into the document.
  return ajv.compile({ $id: `inline:${Math.random()}`, ...JSON.parse(JSON.stringify(schema).replaceAll('"#/', '"openapi#/')) });
}

const mock = await startMock();
const token = Object.keys(MOCK_TOKENS)[0];
let passed = 0, failed = 0, unchecked = 0;
async function check(method, path, body) {
  const res = await fetch(`${mock.url}/api/v1${path}`, {
    method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const json = await res.json();
  const schema = schemaFor(method, path.split('?')[0], res.status);
  if (!schema) { unchecked++; console.log(`-- ${method} ${path}: ${res.status}, no schema in the document`); return; }
  const v = validator(schema);
  if (v(json)) { passed++; console.log(`ok ${method} ${path}`); }
  else { failed++; console.log(`FAIL ${method} ${path}: ${ajv.errorsText(v.errors)}`); }
}

try {
  await check('GET', '/health');
  await check('GET', '/alerts?limit=5');
  await check('GET', '/alerts/3');
  await check('PATCH', '/alerts/3', { status: 'investigating', comment: 'c' });
  await check('POST', '/alerts/3/feedback', { verdict: 'true_positive', reason: 'confirmed_attack', note: 'n' });
  await check('GET', '/incidents?limit=5');
  await check('GET', '/incidents/7');
  await check('PATCH', '/incidents/7', { status: 'investigating', comment: 'c' });
  await check('POST', '/incidents/7/feedback', { verdict: 'false_positive', reason: 'benign_app', note: '' });
  await check('GET', '/analytics/trends?bucket=hour&by=severity');
  await check('GET', '/analytics/top?what=talkers');
  await check('GET', '/dashboard');
  await check('GET', '/search?q=203.0.113.11');
  for (const p of ['/ml/status', '/ml/drift', '/ml/importance']) await check('GET', p);
} finally {
  await mock.close();
}
console.log(`(${unchecked} answers without a schema in ${docPath})`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
