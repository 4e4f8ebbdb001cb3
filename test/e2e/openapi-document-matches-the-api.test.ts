import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import * as openapiBackend from 'openapi-backend';
import type { Operation } from 'openapi-backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../../src/http/errors.ts';
import { signWebhook } from '../../src/snaptrade/signature.ts';
import { eventually, startTestEngine, type TestEngine } from '../support/engine.ts';
import { appendDeadLetter } from '../../streams/dead-letter.ts';
import { ENVELOPE_SCHEMA_VERSION, encodeEnvelope } from '../../streams/envelope.ts';
import { streamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';

/**
 * `GET /api/openapi.json` against the running engine:
 * - it is a valid OpenAPI 3.1 document: it passes the OpenAPI Initiative's JSON Schema for 3.1
 *   documents (`test/fixtures/openapi-3.1-schema.json`, schema 2021-04-15 as published with the
 *   specification), operation ids are unique, path parameters match their templates, every
 *   `$ref` resolves, and every schema in it is valid JSON Schema 2020-12 (the dialect of 3.1);
 * - it documents exactly the routes the server mounts (the server's own route list: the Express
 *   app, its routers and the fast routes);
 * - real requests and answers of every documented operation conform to it (openapi-backend,
 *   with Ajv in the 2020-12 dialect): a request the document calls invalid is refused with a 4xx,
 *   every answer's status is documented for its operation, its body matches that status's schema
 *   (objects admit no undocumented field; an error's code is one of those listed for the status),
 *   and the headers documented for it (`Retry-After` on 429) are there;
 * - every documented answer was provoked here, but for the few listed in `NOT_PROVOKED`.
 */

const ADMIN_TOKEN = 'openapi-admin-token-0123456789';
const METRICS_TOKEN = 'openapi-metrics-token-0123456789';
const MAIN = 'e2e-openapi-main';
const OTHER = 'e2e-openapi-other';
const WEBHOOK_USER = 'e2e-openapi-webhooks';

const OpenAPIBackend = openapiBackend.OpenAPIBackend;
// Ajv 8 as openapi-backend ships it (its dependency), in the dialect of OpenAPI 3.1 (JSON Schema
// 2020-12): the validator of the document itself, and of requests and answers against it.
const requireFromBackend = createRequire(createRequire(import.meta.url).resolve('openapi-backend'));
const Ajv2020 = (requireFromBackend('ajv/dist/2020') as { default: new (options: Record<string, unknown>) => AjvLike }).default;

interface AjvLike {
  addFormat(name: string, format: RegExp | ((value: string) => boolean)): AjvLike;
  validateSchema(schema: unknown): boolean;
  compile(schema: unknown): unknown;
  errorsText(errors?: unknown): string;
  errors?: unknown;
}

/**
 * Ajv in the 2020-12 dialect with the formats the document uses; any other format, or keyword,
 * makes it throw (`strict`). `options` are openapi-backend's (type coercion of headers).
 */
function ajv2020(options: Record<string, unknown> = {}): AjvLike {
  const ajv = new Ajv2020({ ...options, strict: true, strictTypes: false, strictTuples: false, strictRequired: false, allErrors: true });
  ajv.addFormat('date-time', (value) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value) && !Number.isNaN(Date.parse(value)));
  ajv.addFormat('uri', (value) => URL.canParse(value));
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  return ajv;
}

/**
 * The OpenAPI Initiative's schema of 3.1 documents (`test/fixtures/openapi-3.1-schema.json`), with
 * two adjustments that every Ajv-based validator makes to it (swagger-parser does the same):
 * - Ajv does not resolve the schema's `$dynamicRef: "#meta"` (the Schema Objects) as intended
 *   (ajv-validator/ajv#1573): those places refer to `$defs/schema` directly, so a Schema Object
 *   must be an object or a boolean; `validateSchema` below checks the rest against 2020-12;
 * - revision 2021-04-15 gives a Reference Object's `$ref` the format `uri`, which a reference
 *   within the document (`#/components/...`) is not: later revisions say `uri-reference`.
 */
function openApi31Validator(): ((value: unknown) => boolean) & { errors?: unknown } {
  type Node = Record<string, Record<string, unknown> & { properties: Record<string, unknown> }>;
  const oas = JSON.parse(readFileSync(new URL('../fixtures/openapi-3.1-schema.json', import.meta.url), 'utf8')) as { $defs: Node };
  const defs = oas.$defs;
  const { $dynamicAnchor: _anchor, ...schemaObject } = defs.schema!;
  (defs.components!.properties.schemas as { additionalProperties: unknown }).additionalProperties = schemaObject;
  ((defs.header!.dependentSchemas as Node).schema!.properties as Record<string, unknown>).schema = schemaObject;
  defs['media-type']!.properties.schema = schemaObject;
  defs.parameter!.properties.schema = schemaObject;
  defs.reference!.properties.$ref = { type: 'string', format: 'uri-reference' };
  // Not strict: the schema is written for any validator (its patternProperties overlap).
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('uri', (value) => URL.canParse(value));
  ajv.addFormat('uri-reference', (value) => URL.canParse(value, 'https://base.invalid/'));
  ajv.addFormat('media-range', /^[\w.+*-]+\/[\w.+*-]+(\s*;.*)?$/);
  return ajv.compile(oas) as ((value: unknown) => boolean) & { errors?: unknown };
}

type Doc = {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, unknown> };
};

let engine: TestEngine;
let doc: Doc;
let api: openapiBackend.OpenAPIBackend;
/** `operationId status` of every answer checked against the document. */
const provoked = new Set<string>();

beforeAll(async () => {
  engine = await startTestEngine({
    env: { ADMIN_TOKEN, METRICS_TOKEN, REFRESH_COOLDOWN_MS: '60000', AUTH_DEV_SIGN_IN: 'true' },
  });
  await engine.sandbox.control.settings({ refreshCooldownMs: 0, refreshDelayMs: 20 });
  const response = await fetch(`${engine.url}/api/openapi.json`);
  expect(response.status).toBe(200);
  doc = (await response.json()) as Doc;
  api = new OpenAPIBackend({
    definition: structuredClone(doc) as never,
    quick: true,
    strict: true,
    customizeAjv: (_ajv, options) => ajv2020({ ...options }) as never,
  });
  await api.init();
}, 120_000);
afterAll(async () => {
  await engine?.stop();
});

// ---------------------------------------------------------------------------------------------
// Talking to the engine

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

interface Exchange {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** What the document says of the request: true when it conforms. */
  conforms: boolean;
  status: number;
}

/** Any request (a GET with a body too), with no header added but Host and Content-Length. */
function send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const url = new URL(engine.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)])),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Bytes straight onto a socket, for what an HTTP client refuses to send; the answer until close. */
function sendRaw(bytes: string): Promise<Answer> {
  const url = new URL(engine.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const [head = '', text = ''] = raw.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text });
    });
    socket.write(bytes);
  });
}

const auth = async (userId: string) => ({ authorization: `Bearer ${await engine.token(userId)}` });
const jsonHeaders = async (userId: string) => ({ ...(await auth(userId)), 'content-type': 'application/json' });

/** Sends the request, checks the status, and checks request and answer against the document. */
async function exchange(x: Exchange): Promise<Answer> {
  const answer = await send(x.method, x.path, x.headers, x.body);
  expect(answer.status, `${x.method} ${x.path}: ${answer.text.slice(0, 300)}`).toBe(x.status);
  checkAgainstDocument(x, answer);
  return answer;
}

function errorsOf(result: { errors?: unknown }): string {
  return JSON.stringify(result.errors ?? null).slice(0, 1_000);
}

function checkAgainstDocument(x: Omit<Exchange, 'status'>, answer: Answer): void {
  const name = `${x.method} ${x.path} → ${answer.status}`;
  const headers = Object.fromEntries(Object.entries(x.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const query = Object.fromEntries(new URL(x.path, 'http://document.test').searchParams);
  const req = { method: x.method.toLowerCase(), path: x.path, headers, query, ...(x.body === undefined ? {} : { body: x.body }) };
  const operation = api.matchOperation(req) as Operation | undefined;
  expect(operation, `${name}: no documented operation`).toBeDefined();
  const op = operation!;

  // The request, as the document sees it: parameters and body against their schemas, and a body
  // only where one is documented, of a documented media type.
  const verdict = api.validateRequest(req, op);
  const mediaType = headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  const bodyTypes = Object.keys((op.requestBody as { content?: Record<string, unknown> } | undefined)?.content ?? {});
  const bodyDocumented = x.body === undefined || (mediaType !== undefined && bodyTypes.includes(mediaType));
  expect(verdict.valid && bodyDocumented, `${name}: the document ${x.conforms ? 'refuses' : 'accepts'} the request ${errorsOf(verdict)}`).toBe(
    x.conforms,
  );
  if (!x.conforms) expect(answer.status, `${name}: a request the document refuses`).toBeGreaterThanOrEqual(400);
  if (!x.conforms) expect(answer.status, `${name}: a request the document refuses`).toBeLessThan(500);
  if (!hasCredentials(op, headers)) expect(answer.status, `${name}: no credentials`).toBeGreaterThanOrEqual(400);

  // The answer.
  const responses = op.responses as Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
  const documented = responses[String(answer.status)];
  expect(documented, `${name}: status not documented for ${op.operationId}`).toBeDefined();
  const answerType = answer.headers['content-type']?.split(';')[0]?.trim();
  if (documented!.content) {
    expect(Object.keys(documented!.content), `${name}: content type`).toContain(answerType);
  } else {
    expect(answer.text, `${name}: no body documented`).toBe('');
  }
  if (answerType === 'application/json') {
    const result = api.validateResponse(JSON.parse(answer.text), op, answer.status);
    expect(result.valid, `${name}: body ${errorsOf(result)} in ${answer.text.slice(0, 500)}`).toBe(true);
  }
  const headerResult = api.validateResponseHeaders(answer.headers, op, { statusCode: answer.status, setMatchType: openapiBackend.SetMatchType.Superset });
  expect(headerResult.valid, `${name}: headers ${errorsOf(headerResult)}`).toBe(true);
  provoked.add(`${op.operationId} ${answer.status}`);
}

/** The request carries a credential of one of the operation's security requirements. */
function hasCredentials(op: Operation, headers: Record<string, string>): boolean {
  const requirements = (op.security ?? []) as Record<string, string[]>[];
  if (requirements.length === 0) return true;
  const schemes = (doc as unknown as { components: { securitySchemes: Record<string, { type: string; in?: string; name?: string }> } })
    .components.securitySchemes;
  return requirements.some((requirement) =>
    Object.keys(requirement).every((name) => {
      const scheme = schemes[name]!;
      if (scheme.type === 'http') return /^bearer\s+\S+$/i.test(headers.authorization ?? '');
      return headers[scheme.name!.toLowerCase()] !== undefined;
    }),
  );
}

// ---------------------------------------------------------------------------------------------

describe('the document', () => {
  it('is a valid OpenAPI 3.1 document whose schemas are valid JSON Schema 2020-12', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(doc.info.version).toBe(version);
    // The OpenAPI Initiative's schema of 3.1 documents.
    const validateDocument = openApi31Validator();
    expect(validateDocument(doc), JSON.stringify(validateDocument.errors)?.slice(0, 2_000)).toBe(true);
    // And it does refuse what is not a 3.1 document.
    expect(validateDocument({ ...doc, openapi: '3.0.3' })).toBe(false);
    expect(validateDocument({ ...doc, paths: { '/x': { get: { responses: { 200: {} } } } } })).toBe(false);

    // What that schema cannot say: unique operation ids, path parameters that match the path
    // templates, references that resolve.
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, op: op as { operationId: string; parameters?: { name: string; in: string; required?: boolean }[] } })),
    );
    const ids = operations.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, op } of operations) {
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name).sort(), `${method} ${path}`).toEqual(templated.sort());
      for (const p of declared) expect(p.required, `${method} ${path} ${p.name}`).toBe(true);
    }
    const resolve = (pointer: string): unknown =>
      pointer
        .slice(2)
        .split('/')
        .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], doc);
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value);
          else walk(value);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      expect(ref.startsWith('#/'), ref).toBe(true);
      expect(resolve(ref), ref).toBeDefined();
    }

    // The 3.1 schema leaves Schema Objects to their dialect: check each against 2020-12 and
    // compile it (patterns, formats), references resolved (openapi-backend's dereferenced copy).
    const ajv = ajv2020();
    const dereferenced = api.definition as unknown as Doc;
    const schemas: [string, unknown][] = [];
    const collect = (node: unknown, at: string): void => {
      if (Array.isArray(node)) node.forEach((item, i) => collect(item, `${at}/${i}`));
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === 'schema') schemas.push([`${at}/schema`, value]);
          else collect(value, `${at}/${key}`);
        }
      }
    };
    collect(dereferenced.paths, '#/paths');
    for (const [name, schema] of Object.entries(dereferenced.components.schemas)) schemas.push([`#/components/schemas/${name}`, schema]);
    expect(schemas.length).toBeGreaterThan(50);
    for (const [at, schema] of schemas) {
      expect(ajv.validateSchema(schema), `${at}: ${ajv.errorsText(ajv.errors)}`).toBe(true);
      expect(() => ajv.compile(schema), at).not.toThrow();
    }

    // Error codes: the registry's, all of them.
    expect((doc.components.schemas.ErrorCode as { enum: string[] }).enum).toEqual(Object.keys(ERRORS));
  });

  it('documents every route the server mounts, and no other', () => {
    const mounted = engine.app.roles.web!.routes().map((r) => `${r.method} ${r.path}`);
    const documented = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    expect(new Set(mounted).size).toBe(mounted.length);
    expect([...mounted].sort()).toEqual([...documented].sort());
    // The list is the server's, not a copy of the document: the webhook's fast route and the
    // dashboard (mounted at `/`) are in it.
    expect(mounted).toContain('POST /api/snaptrade/webhook');
    expect(mounted).toContain('GET /dashboard.js');
  });

  it('is served to anyone, as JSON', async () => {
    const answer = await exchange({ method: 'GET', path: '/api/openapi.json', conforms: true, status: 200 });
    expect(JSON.parse(answer.text)).toEqual(doc);
  });
});

describe('the user API conforms', () => {
  let alpaca: { id: string; keyId: string; secretKey: string };

  it('connects brokerages and reads the portfolio', async () => {
    const created = await exchange({
      method: 'POST',
      path: '/api/snaptrade/connection-url',
      headers: await jsonHeaders(MAIN),
      body: JSON.stringify({ broker: 'QUESTRADE', customRedirect: 'https://example.test/done' }),
      conforms: true,
      status: 200,
    });
    expect(JSON.parse(created.text).redirectURI).toMatch(/^https?:/);
    await exchange({ method: 'POST', path: '/api/snaptrade/connection-url', headers: await auth(MAIN), conforms: true, status: 200 });

    await engine.sandbox.control.connect(MAIN, {
      brokerage: 'QUESTRADE',
      accounts: [
        { name: 'Margin', currency: 'USD', cash: { USD: 1250.5 }, positions: [{ symbol: 'AAPL', units: 10, averageCost: 150 }] },
        { name: 'TFSA', currency: 'USD', positions: [{ symbol: 'MSFT', units: 3 }] },
      ],
    });
    const account = await engine.sandbox.control.alpacaCreateAccount({ cash: 5_000 });
    await engine.sandbox.control.alpacaSetPositions(account.id, { positions: [{ symbol: 'AAPL', qty: 2, avgEntryPrice: 180 }] });
    alpaca = account;
    const linked = await exchange({
      method: 'POST',
      path: '/api/alpaca/accounts',
      headers: await jsonHeaders(MAIN),
      body: JSON.stringify({ keyId: account.keyId, secretKey: account.secretKey }),
      conforms: true,
      status: 201,
    });
    expect(JSON.parse(linked.text).accountId).toBe(account.id);

    await eventually(
      async () => {
        const { body } = await engine.api<{ accounts: unknown[] }>(MAIN, 'GET', '/api/accounts');
        return body.accounts.length === 3 ? true : undefined;
      },
      30_000,
      'three accounts',
    );
    const portfolio = await exchange({ method: 'GET', path: '/api/portfolio', headers: await auth(MAIN), conforms: true, status: 200 });
    expect(JSON.parse(portfolio.text).holdings.length).toBeGreaterThan(0);
    const accounts = await exchange({ method: 'GET', path: '/api/accounts', headers: await auth(MAIN), conforms: true, status: 200 });
    expect(JSON.parse(accounts.text).accounts).toHaveLength(3);
    const history = await exchange({ method: 'GET', path: '/api/portfolio/history?range=1Y', headers: await auth(MAIN), conforms: true, status: 200 });
    expect(JSON.parse(history.text).interval).toBe('day');
    const returns = await exchange({ method: 'GET', path: '/api/portfolio/returns?range=1Y', headers: await auth(MAIN), conforms: true, status: 200 });
    expect(JSON.parse(returns.text).range).toBe('1Y');
  });

  it('refreshes, then refuses a refresh within the cooldown with 429 and Retry-After', async () => {
    const refreshed = await exchange({ method: 'POST', path: '/api/snaptrade/refresh', headers: await auth(MAIN), conforms: true, status: 200 });
    expect(JSON.parse(refreshed.text).connections.length).toBeGreaterThan(0);
    const refused = await exchange({ method: 'POST', path: '/api/snaptrade/refresh', headers: await auth(MAIN), conforms: true, status: 429 });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('answers bad requests with the documented errors', async () => {
    const user = await auth(MAIN);
    const json = await jsonHeaders(MAIN);
    const big = JSON.stringify({ broker: 'x'.repeat(20_000) });
    for (const x of <Exchange[]>[
      // No or bad credentials.
      { method: 'GET', path: '/api/portfolio', conforms: true, status: 401 },
      { method: 'GET', path: '/api/accounts', headers: { authorization: 'Bearer not.a.jwt' }, conforms: true, status: 401 },
      { method: 'POST', path: '/api/snaptrade/connection-url', conforms: true, status: 401 },
      { method: 'POST', path: '/api/snaptrade/refresh', conforms: true, status: 401 },
      { method: 'POST', path: '/api/alpaca/accounts', headers: { 'content-type': 'application/json' }, body: '{"keyId":"k","secretKey":"s"}', conforms: true, status: 401 },
      { method: 'DELETE', path: '/api/alpaca/accounts/anything', conforms: true, status: 401 },
      { method: 'DELETE', path: '/api/me', conforms: true, status: 401 },
      // Bodies that fail validation, are not JSON, are too large, or are not JSON at all.
      { method: 'POST', path: '/api/snaptrade/connection-url', headers: json, body: '{"broker":5}', conforms: false, status: 400 },
      { method: 'POST', path: '/api/snaptrade/connection-url', headers: json, body: '{"surprise":true}', conforms: false, status: 400 },
      { method: 'POST', path: '/api/snaptrade/connection-url', headers: json, body: '{"customRedirect":"not a url"}', conforms: false, status: 400 },
      { method: 'POST', path: '/api/snaptrade/connection-url', headers: json, body: '{"broker":', conforms: false, status: 400 },
      { method: 'POST', path: '/api/snaptrade/connection-url', headers: json, body: big, conforms: false, status: 413 },
      { method: 'POST', path: '/api/snaptrade/connection-url', headers: { ...user, 'content-type': 'text/plain' }, body: '{}', conforms: false, status: 415 },
      { method: 'POST', path: '/api/snaptrade/refresh', headers: json, body: '{', conforms: false, status: 400 },
      { method: 'POST', path: '/api/snaptrade/refresh', headers: json, body: big, conforms: false, status: 413 },
      { method: 'POST', path: '/api/snaptrade/refresh', headers: { ...user, 'content-type': 'text/plain' }, body: 'go', conforms: false, status: 415 },
      { method: 'POST', path: '/api/alpaca/accounts', headers: json, body: '{}', conforms: false, status: 400 },
      { method: 'POST', path: '/api/alpaca/accounts', headers: json, body: '{"keyId":"k"}', conforms: false, status: 400 },
      { method: 'POST', path: '/api/alpaca/accounts', headers: user, conforms: false, status: 400 },
      { method: 'POST', path: '/api/alpaca/accounts', headers: json, body: '{"keyId":"wrong","secretKey":"keys"}', conforms: true, status: 400 },
      { method: 'POST', path: '/api/alpaca/accounts', headers: json, body: '[', conforms: false, status: 400 },
      { method: 'POST', path: '/api/alpaca/accounts', headers: json, body: big, conforms: false, status: 413 },
      { method: 'POST', path: '/api/alpaca/accounts', headers: { ...user, 'content-type': 'application/x-www-form-urlencoded' }, body: 'keyId=k', conforms: false, status: 415 },
      { method: 'DELETE', path: '/api/alpaca/accounts/not-linked', headers: user, conforms: true, status: 404 },
      { method: 'DELETE', path: '/api/alpaca/accounts/x', headers: json, body: '{', conforms: false, status: 400 },
      { method: 'DELETE', path: '/api/alpaca/accounts/x', headers: json, body: big, conforms: false, status: 413 },
      { method: 'DELETE', path: '/api/alpaca/accounts/x', headers: { ...user, 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: '/api/portfolio', headers: { ...user, 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: '/api/accounts', headers: { ...user, 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: '/api/portfolio/history', conforms: true, status: 401 },
      { method: 'GET', path: '/api/portfolio/history?range=2Y', headers: user, conforms: false, status: 400 },
      { method: 'GET', path: '/api/portfolio/history?range=1D', headers: { ...user, 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: '/api/portfolio/returns', conforms: true, status: 401 },
      { method: 'GET', path: '/api/portfolio/returns?range=2Y', headers: user, conforms: false, status: 400 },
      { method: 'GET', path: '/api/portfolio/returns?accountId=00000000-0000-4000-8000-000000000000', headers: user, conforms: true, status: 404 },
      { method: 'GET', path: '/api/portfolio/returns', headers: { ...user, 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'DELETE', path: '/api/me', headers: { ...user, 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'DELETE', path: '/api/me', headers: await auth('e2e-openapi-nobody'), conforms: true, status: 404 },
      // A connection that is not the caller's.
      { method: 'POST', path: '/api/snaptrade/connection-url', headers: json, body: '{"reconnect":"not-mine"}', conforms: true, status: 404 },
    ]) {
      await exchange(x);
    }
  });

  it('answers conflicts with 409', async () => {
    // Another user linking the same Alpaca account.
    await exchange({
      method: 'POST',
      path: '/api/alpaca/accounts',
      headers: await jsonHeaders(OTHER),
      body: JSON.stringify({ keyId: alpaca.keyId, secretKey: alpaca.secretKey }),
      conforms: true,
      status: 409,
    });
    // Reconnecting a connection of a registration SnapTrade no longer accepts.
    const user = 'e2e-openapi-relink';
    await engine.db.knex('users').insert({ id: user });
    await engine.db.knex('brokerage_connections').insert({ user_id: user, provider: 'snaptrade', external_id: 'relink-auth', status: 'needs_relink' });
    await exchange({
      method: 'POST',
      path: '/api/snaptrade/connection-url',
      headers: await jsonHeaders(user),
      body: JSON.stringify({ reconnect: 'relink-auth' }),
      conforms: true,
      status: 409,
    });
  });

  it('answers 502 and 503 when a brokerage fails', async () => {
    const control = engine.sandbox.control;
    const login = { operationId: 'Authentication_loginSnapTradeUser', userId: MAIN };
    await control.addFault({ kind: 'error', status: 400, times: 1, match: login });
    await exchange({ method: 'POST', path: '/api/snaptrade/connection-url', headers: await auth(MAIN), conforms: true, status: 502 });
    await control.addFault({ kind: 'error', status: 503, times: 1, match: login });
    await exchange({ method: 'POST', path: '/api/snaptrade/connection-url', headers: await auth(MAIN), conforms: true, status: 503 });

    const other = await control.alpacaCreateAccount({ cash: 100 });
    await control.alpacaSetFaults({ probability: 1, statuses: [500], pathPrefixes: ['/v2/account'] });
    try {
      await exchange({
        method: 'POST',
        path: '/api/alpaca/accounts',
        headers: await jsonHeaders(OTHER),
        body: JSON.stringify({ keyId: other.keyId, secretKey: other.secretKey }),
        conforms: true,
        status: 502,
      });
    } finally {
      await control.alpacaClearFaults();
    }
  });

  it('disconnects a brokerage', async () => {
    const user = 'e2e-openapi-disconnect';
    // Registered with SnapTrade by the engine, then connected at the sandbox.
    expect((await engine.api(user, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
    await engine.sandbox.control.connect(user, { brokerage: 'ROBINHOOD', accounts: [{ name: 'Individual', currency: 'USD', positions: [] }] });
    const row = await eventually(async () => (await engine.db.knex('brokerage_connections').where({ user_id: user }).first('external_id')) as { external_id: string } | undefined);
    const path = `/api/snaptrade/connections/${row.external_id}`;
    const headers = await auth(user);
    await exchange({ method: 'DELETE', path, conforms: true, status: 401 });
    await exchange({ method: 'DELETE', path, headers: { ...headers, 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 });
    await exchange({ method: 'DELETE', path, headers: { ...headers, 'content-type': 'application/json' }, body: '{', conforms: false, status: 400 });
    await exchange({ method: 'DELETE', path, headers: await auth(MAIN), conforms: true, status: 404 });
    await exchange({ method: 'DELETE', path, headers, conforms: true, status: 202 });
  });

  it('signs in by user id where development sign-in is on', async () => {
    const users = await exchange({ method: 'GET', path: '/api/auth/dev/users', conforms: true, status: 200 });
    expect((JSON.parse(users.text) as { users: { id: string }[] }).users.map((u) => u.id)).toContain(MAIN);
    await exchange({ method: 'GET', path: '/api/auth/dev/users', headers: { 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 });
    await exchange({ method: 'GET', path: '/api/auth/dev/users', headers: { 'content-type': 'application/json' }, body: '{', conforms: false, status: 400 });
    const json = { 'content-type': 'application/json' };
    const signedIn = await exchange({ method: 'POST', path: '/api/auth/dev/sign-in', headers: json, body: JSON.stringify({ userId: MAIN }), conforms: true, status: 200 });
    const token = (JSON.parse(signedIn.text) as { token: string }).token;
    await exchange({ method: 'GET', path: '/api/accounts', headers: { authorization: `Bearer ${token}` }, conforms: true, status: 200 });
    const refused = await exchange({ method: 'POST', path: '/api/auth/dev/sign-in', headers: json, body: JSON.stringify({ userId: 'a b' }), conforms: false, status: 400 });
    expect(refused.text).toMatch(/userId/);
    await exchange({ method: 'POST', path: '/api/auth/dev/sign-in', headers: { 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 });
  });

  it('unlinks an Alpaca account', async () => {
    await exchange({ method: 'DELETE', path: `/api/alpaca/accounts/${alpaca.id}`, headers: await auth(MAIN), conforms: true, status: 204 });
  });

  it('deletes users, and answers the deletion errors', async () => {
    const control = engine.sandbox.control;
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const registered = async (userId: string) => {
      expect((await engine.api(userId, 'POST', '/api/snaptrade/connection-url', {})).status).toBe(200);
      return userId;
    };
    const deletion = { operationId: 'Authentication_deleteSnapTradeUser' };

    // The user's own deletion.
    const me = await registered('e2e-openapi-delete-me');
    await control.addFault({ kind: 'error', status: 400, times: 1, match: { ...deletion, userId: me } });
    await exchange({ method: 'DELETE', path: '/api/me', headers: await auth(me), conforms: true, status: 502 });
    await control.addFault({ kind: 'error', status: 503, times: 1, match: { ...deletion, userId: me } });
    await exchange({ method: 'DELETE', path: '/api/me', headers: await auth(me), conforms: true, status: 503 });
    const deleted = await send('DELETE', '/api/me', await auth(me));
    checkAgainstDocument({ method: 'DELETE', path: '/api/me', headers: await auth(me), conforms: true }, deleted);
    expect([200, 202]).toContain(deleted.status);

    // An operator's.
    const them = await registered('e2e-openapi-delete-them');
    const path = `/api/admin/users/${them}`;
    for (const x of <Exchange[]>[
      { method: 'DELETE', path, conforms: true, status: 401 },
      { method: 'DELETE', path, headers: { authorization: 'Bearer not-the-admin-token' }, conforms: true, status: 401 },
      { method: 'DELETE', path: `/api/admin/users/${'x'.repeat(201)}`, headers: admin, conforms: false, status: 400 },
      { method: 'DELETE', path: '/api/admin/users/e2e-openapi-nobody', headers: admin, conforms: true, status: 404 },
      { method: 'DELETE', path, headers: { ...admin, 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
    ]) {
      await exchange(x);
    }
    await control.addFault({ kind: 'error', status: 400, times: 1, match: { ...deletion, userId: them } });
    await exchange({ method: 'DELETE', path, headers: admin, conforms: true, status: 502 });
    await control.addFault({ kind: 'error', status: 503, times: 1, match: { ...deletion, userId: them } });
    await exchange({ method: 'DELETE', path, headers: admin, conforms: true, status: 503 });
    const byAdmin = await send('DELETE', path, admin);
    checkAgainstDocument({ method: 'DELETE', path, headers: admin, conforms: true }, byAdmin);
    expect([200, 202]).toContain(byAdmin.status);
  });

  it("reads and changes the caller's settings, and refuses a base currency it cannot convert to", async () => {
    const me = 'e2e-openapi-settings';
    const json = await jsonHeaders(me);
    for (const x of <Exchange[]>[
      { method: 'GET', path: '/api/me/settings', headers: await auth(me), conforms: true, status: 200 },
      { method: 'GET', path: '/api/me/settings', conforms: true, status: 401 },
      { method: 'GET', path: '/api/me/settings', headers: { ...(await auth(me)), 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'PUT', path: '/api/me/settings', headers: json, body: '{"baseCurrency":"cad"}', conforms: true, status: 200 },
      { method: 'PUT', path: '/api/me/settings', headers: json, body: '{"baseCurrency":"XYZ"}', conforms: true, status: 400 },
      { method: 'PUT', path: '/api/me/settings', headers: json, body: '{"baseCurrency":"CADX"}', conforms: false, status: 400 },
      { method: 'PUT', path: '/api/me/settings', headers: { 'content-type': 'application/json' }, body: '{"baseCurrency":"CAD"}', conforms: true, status: 401 },
      { method: 'PUT', path: '/api/me/settings', headers: { ...(await auth(me)), 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
    ]) {
      await exchange(x);
    }
  });

  it('starts a replay and reads it', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const json = { ...admin, 'content-type': 'application/json' };
    const unknown = '/api/admin/replays/00000000-0000-4000-8000-000000000000';
    for (const x of <Exchange[]>[
      { method: 'POST', path: '/api/admin/replays', headers: { 'content-type': 'application/json' }, body: '{"all":true}', conforms: true, status: 401 },
      { method: 'POST', path: '/api/admin/replays', headers: json, body: '{"all":true,"dryRun":"yes"}', conforms: false, status: 400 },
      { method: 'POST', path: '/api/admin/replays', headers: { ...admin, 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: '/api/admin/replays/not-a-replay-id', headers: admin, conforms: false, status: 400 },
      { method: 'GET', path: unknown, conforms: true, status: 401 },
      { method: 'GET', path: unknown, headers: admin, conforms: true, status: 404 },
    ]) {
      await exchange(x);
    }
    const started = await exchange({
      method: 'POST',
      path: '/api/admin/replays',
      headers: json,
      body: '{"users":["e2e-openapi-replayed"],"dryRun":true}',
      conforms: true,
      status: 202,
    });
    const id = (JSON.parse(started.text) as { id: string }).id;
    await exchange({ method: 'GET', path: `/api/admin/replays/${id}`, headers: admin, conforms: true, status: 200 });
  });
});

describe('SnapTrade webhooks conform', () => {
  const key = () => engine.config.SNAPTRADE_CONSUMER_KEY!;
  const examples = JSON.parse(readFileSync(new URL('../fixtures/snaptrade-webhook-examples.json', import.meta.url), 'utf8')) as Record<
    string,
    Record<string, Record<string, unknown>>
  >;
  const fresh = (example: Record<string, unknown>) => ({
    ...example,
    webhookId: randomUUID(),
    userId: WEBHOOK_USER,
    eventTimestamp: new Date().toISOString().replace('Z', '+00:00'),
  });
  const without = (body: Record<string, unknown>, field: string) => Object.fromEntries(Object.entries(body).filter(([k]) => k !== field));
  const post = (body: unknown, options: { signature?: string | null; raw?: string; contentType?: string; conforms: boolean; status: number }) => {
    const text = options.raw ?? JSON.stringify(body);
    const signature = options.signature === undefined ? signWebhook(key(), body) : options.signature;
    return exchange({
      method: 'POST',
      path: '/api/snaptrade/webhook',
      headers: { 'content-type': options.contentType ?? 'application/json', ...(signature === null ? {} : { signature }) },
      body: text,
      conforms: options.conforms,
      status: options.status,
    });
  };

  it("accepts every documented example, and the document accepts it too; a repeat is a duplicate", async () => {
    const all = [...Object.values(examples.api_key_schema!), ...Object.values(examples.oauth_v1_schema!), ...Object.values(examples.removed_from_docs!)];
    for (const example of all) {
      const body = fresh(example);
      const first = await post(body, { conforms: true, status: 200 });
      expect(JSON.parse(first.text).status).toBe('accepted');
    }
    const again = fresh(all[0]!);
    await post(again, { conforms: true, status: 200 });
    expect(JSON.parse((await post(again, { conforms: true, status: 200 })).text).status).toBe('duplicate');
  });

  it('the document refuses exactly the bodies the engine refuses: each example less each field', async () => {
    let refused = 0;
    for (const example of [...Object.values(examples.api_key_schema!), ...Object.values(examples.oauth_v1_schema!)]) {
      for (const field of Object.keys(example)) {
        const body = without(fresh(example), field);
        const answer = await send('POST', '/api/snaptrade/webhook', { 'content-type': 'application/json', signature: signWebhook(key(), body) }, JSON.stringify(body));
        expect([200, 400], `${String(example.eventType)} less ${field}: ${answer.text}`).toContain(answer.status);
        if (answer.status === 400) {
          expect(JSON.parse(answer.text).error.code).toBe('FS_VALIDATION');
          refused++;
        }
        checkAgainstDocument(
          { method: 'POST', path: '/api/snaptrade/webhook', headers: { 'content-type': 'application/json', signature: 'x' }, body: JSON.stringify(body), conforms: answer.status === 200 },
          answer,
        );
      }
    }
    expect(refused).toBeGreaterThan(30);
  });

  it('answers bad webhooks with the documented errors', async () => {
    const holdings = examples.api_key_schema!.ACCOUNT_HOLDINGS_UPDATED!;
    await post({}, { raw: '{"webhookId":', conforms: false, status: 400 }); // not JSON
    await post({ ...fresh(holdings), accountId: 5 }, { conforms: false, status: 400 }); // a field of the wrong type
    await post(without(fresh(examples.oauth_v1_schema!.CONNECTION_ATTEMPTED!), 'oauthClientId'), { conforms: false, status: 400 });
    await post(without({ ...fresh(holdings), schemaVersion: 'v9' }, 'userId'), { conforms: false, status: 400 }); // an unknown schema
    await post({ ...fresh(holdings), eventTimestamp: '2022-05-31T11:16:54.658533+00:00' }, { conforms: true, status: 400 }); // stale
    await post(fresh(holdings), { signature: null, conforms: true, status: 401 });
    await post(fresh(holdings), { signature: 'bm90IGl0', conforms: true, status: 401 });
    await post({ pad: 'x'.repeat(engine.config.WEBHOOK_MAX_BYTES) }, { conforms: false, status: 413 });
    await post(fresh(holdings), { contentType: 'text/plain', conforms: false, status: 415 });
  });
});

describe('the admin stream routes conform', () => {
  it("page a user's stream, list, retry and discard dead letters, and start the queue board's session", async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const json = { ...admin, 'content-type': 'application/json' };
    const text = { ...admin, 'content-type': 'text/plain' };
    const keys = streamKeys(engine.namespace);
    const partition = partitionOf(MAIN, engine.config.PARTITION_COUNT);
    // A legacy no-op event of the user to retry, and an entry that never decoded.
    const noop = { id: 'openapi-noop', type: 'presence.watch', user: MAIN, partition, time: new Date().toISOString(), schema: ENVELOPE_SCHEMA_VERSION, payload: {} };
    const retryable = await appendDeadLetter(engine.redis.client, keys, partition, { entryId: '1-1', envelope: encodeEnvelope(noop), reason: 'openapi', deliveries: 3, parkedBy: 'w1' });
    const broken = await appendDeadLetter(engine.redis.client, keys, partition, { entryId: '1-2', envelope: '{', reason: 'malformed envelope', deliveries: 0 });
    const stream = `/api/admin/users/${MAIN}/stream`;
    const letters = '/api/admin/dead-letters';
    const retry = (id: string) => `${letters}/${partition}/${id}/retry`;
    const discard = (id: string) => `${letters}/${partition}/${id}/discard`;
    for (const x of <Exchange[]>[
      { method: 'GET', path: stream, headers: admin, conforms: true, status: 200 },
      { method: 'GET', path: `${stream}?stream=dead&order=oldest&limit=1`, headers: admin, conforms: true, status: 200 },
      { method: 'GET', path: `${stream}?limit=500`, headers: admin, conforms: false, status: 400 },
      { method: 'GET', path: `${stream}?cursor=yesterday`, headers: admin, conforms: false, status: 400 },
      { method: 'GET', path: stream, conforms: true, status: 401 },
      { method: 'GET', path: stream, headers: text, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: letters, headers: admin, conforms: true, status: 200 },
      { method: 'GET', path: `${letters}?partition=${partition}&limit=1`, headers: admin, conforms: true, status: 200 },
      { method: 'GET', path: `${letters}?cursor=nope`, headers: admin, conforms: false, status: 400 },
      { method: 'GET', path: letters, headers: { authorization: 'Bearer not-the-admin-token' }, conforms: true, status: 401 },
      { method: 'GET', path: letters, headers: text, body: 'x', conforms: false, status: 415 },
      { method: 'POST', path: retry(retryable), conforms: true, status: 401 },
      { method: 'POST', path: retry(retryable), headers: text, body: 'x', conforms: false, status: 415 },
      { method: 'POST', path: retry('latest'), headers: admin, conforms: false, status: 400 },
      { method: 'POST', path: retry(broken), headers: admin, conforms: true, status: 409 },
      { method: 'POST', path: retry(retryable), headers: admin, conforms: true, status: 200 },
      { method: 'POST', path: retry(retryable), headers: admin, conforms: true, status: 404 },
      { method: 'POST', path: discard(broken), headers: { 'content-type': 'application/json' }, body: '{"reason":"none given"}', conforms: true, status: 401 },
      { method: 'POST', path: discard(broken), headers: text, body: 'x', conforms: false, status: 415 },
      { method: 'POST', path: discard(broken), headers: json, body: '{}', conforms: false, status: 400 },
      { method: 'POST', path: discard(broken), headers: json, body: '{"reason":', conforms: false, status: 400 },
      { method: 'POST', path: discard(broken), headers: json, body: '{"reason":"never decoded"}', conforms: true, status: 200 },
      { method: 'POST', path: discard(broken), headers: json, body: '{"reason":"never decoded"}', conforms: true, status: 404 },
      { method: 'POST', path: '/api/admin/session', headers: admin, conforms: true, status: 200 },
      { method: 'POST', path: '/api/admin/session', conforms: true, status: 401 },
      { method: 'POST', path: '/api/admin/session', headers: text, body: 'x', conforms: false, status: 415 },
      { method: 'DELETE', path: '/api/admin/session', headers: admin, conforms: true, status: 204 },
      { method: 'DELETE', path: '/api/admin/session', conforms: true, status: 401 },
      { method: 'DELETE', path: '/api/admin/session', headers: text, body: 'x', conforms: false, status: 415 },
    ]) {
      await exchange(x);
    }
  });
});

describe('trading conforms', () => {
  const TRADER = 'e2e-openapi-trader';
  const order = { symbol: 'MSFT', side: 'buy', quantity: '1', type: 'market' };
  let alpacaAccountId: string;
  let filledOrderId: string;

  it('previews, places, lists, reads and cancels orders', async () => {
    const account = await engine.sandbox.control.alpacaCreateAccount({ cash: 10_000 });
    expect((await engine.api(TRADER, 'POST', '/api/alpaca/accounts', { keyId: account.keyId, secretKey: account.secretKey })).status).toBe(201);
    alpacaAccountId = await eventually(async () => {
      const { body } = await engine.api<{ accounts: { id: string }[] }>(TRADER, 'GET', '/api/accounts');
      return body.accounts[0]?.id;
    }, 30_000, 'the trader\'s account');
    const json = await jsonHeaders(TRADER);
    await exchange({ method: 'POST', path: '/api/orders/preview', headers: json, body: JSON.stringify(order), conforms: true, status: 200 });
    const placed = await exchange({ method: 'POST', path: '/api/orders', headers: { ...json, 'idempotency-key': 'openapi-order-1' }, body: JSON.stringify(order), conforms: true, status: 201 });
    filledOrderId = (JSON.parse(placed.text) as { id: string }).id;
    await exchange({ method: 'GET', path: '/api/orders?status=closed&limit=5', headers: await auth(TRADER), conforms: true, status: 200 });
    await exchange({ method: 'GET', path: `/api/orders/${filledOrderId}`, headers: await auth(TRADER), conforms: true, status: 200 });
    const resting = await exchange({
      method: 'POST',
      path: '/api/orders',
      headers: { ...json, 'idempotency-key': 'openapi-order-2' },
      body: JSON.stringify({ ...order, type: 'limit', limitPrice: '1', timeInForce: 'gtc' }),
      conforms: true,
      status: 201,
    });
    const restingId = (JSON.parse(resting.text) as { id: string }).id;
    await exchange({ method: 'POST', path: `/api/orders/${restingId}/cancel`, headers: await auth(TRADER), conforms: true, status: 200 });
  });

  it("lists the trader's activities, filtered and paged, and refuses a type it does not know", async () => {
    await eventually(async () => {
      const { body } = await engine.api<{ activities: unknown[] }>(TRADER, 'GET', '/api/activities');
      return body.activities.length ? true : undefined;
    }, 30_000, "the trader's activities");
    const text = { ...(await auth(TRADER)), 'content-type': 'text/plain' };
    for (const x of <Exchange[]>[
      { method: 'GET', path: `/api/activities?accountId=${alpacaAccountId}&type=deposit,buy&from=2000-01-01&to=2100-01-01&limit=1`, headers: await auth(TRADER), conforms: true, status: 200 },
      { method: 'GET', path: '/api/activities', conforms: true, status: 401 },
      { method: 'GET', path: '/api/activities?type=bonus', headers: await auth(TRADER), conforms: false, status: 400 },
      { method: 'GET', path: '/api/activities', headers: text, body: 'x', conforms: false, status: 415 },
    ]) {
      await exchange(x);
    }
  });

  it('answers refusals with the documented errors', async () => {
    const json = await jsonHeaders(TRADER);
    const text = { ...(await auth(TRADER)), 'content-type': 'text/plain' };
    const key = (k: string) => ({ ...json, 'idempotency-key': k });
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const x of <Exchange[]>[
      { method: 'POST', path: '/api/orders/preview', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order), conforms: true, status: 401 },
      { method: 'POST', path: '/api/orders', headers: { 'content-type': 'application/json', 'idempotency-key': 'openapi-anon-1' }, body: JSON.stringify(order), conforms: true, status: 401 },
      { method: 'GET', path: '/api/orders', conforms: true, status: 401 },
      { method: 'GET', path: `/api/orders/${missing}`, conforms: true, status: 401 },
      { method: 'POST', path: `/api/orders/${missing}/cancel`, conforms: true, status: 401 },
      { method: 'POST', path: '/api/orders/preview', headers: json, body: JSON.stringify({ symbol: 'MSFT', quantity: '1', type: 'market' }), conforms: false, status: 400 },
      { method: 'POST', path: '/api/orders', headers: json, body: JSON.stringify(order), conforms: false, status: 400 },
      { method: 'GET', path: '/api/orders?status=nonsense', headers: await auth(TRADER), conforms: false, status: 400 },
      { method: 'GET', path: `/api/orders/${missing}`, headers: json, body: '{', conforms: false, status: 400 },
      { method: 'POST', path: `/api/orders/${missing}/cancel`, headers: json, body: '{', conforms: false, status: 400 },
      { method: 'POST', path: '/api/orders/preview', headers: text, body: 'x', conforms: false, status: 415 },
      { method: 'POST', path: '/api/orders', headers: { ...text, 'idempotency-key': 'openapi-text-1' }, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: '/api/orders', headers: text, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: `/api/orders/${missing}`, headers: text, body: 'x', conforms: false, status: 415 },
      { method: 'POST', path: `/api/orders/${missing}/cancel`, headers: text, body: 'x', conforms: false, status: 415 },
      { method: 'POST', path: '/api/orders/preview', headers: json, body: JSON.stringify({ ...order, accountId: missing }), conforms: true, status: 404 },
      { method: 'POST', path: '/api/orders', headers: key('openapi-404'), body: JSON.stringify({ ...order, accountId: missing }), conforms: true, status: 404 },
      { method: 'GET', path: `/api/orders/${missing}`, headers: await auth(TRADER), conforms: true, status: 404 },
      { method: 'POST', path: `/api/orders/${missing}/cancel`, headers: await auth(TRADER), conforms: true, status: 404 },
      { method: 'POST', path: '/api/orders/preview', headers: json, body: JSON.stringify({ ...order, symbol: 'ZZZZQ' }), conforms: true, status: 422 },
      { method: 'POST', path: '/api/orders', headers: key('openapi-422'), body: JSON.stringify({ ...order, symbol: 'ZZZZQ' }), conforms: true, status: 422 },
      // The key of the first order, with another body.
      { method: 'POST', path: '/api/orders', headers: key('openapi-order-1'), body: JSON.stringify({ ...order, quantity: '2' }), conforms: true, status: 409 },
      { method: 'POST', path: `/api/orders/${filledOrderId}/cancel`, headers: await auth(TRADER), conforms: true, status: 409 },
      { method: 'GET', path: '/api/securities/search?query=MS', conforms: true, status: 401 },
      { method: 'GET', path: '/api/securities/search', headers: await auth(TRADER), conforms: false, status: 400 },
      { method: 'GET', path: '/api/securities/search?query=MS', headers: text, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: `/api/securities/search?query=MS&accountId=${missing}`, headers: await auth(TRADER), conforms: true, status: 404 },
      // A user without accounts has nothing to trade in.
      { method: 'GET', path: '/api/securities/search?query=MS', headers: await auth('e2e-openapi-no-accounts'), conforms: true, status: 422 },
    ]) {
      await exchange(x);
    }
    // A broken connection refuses before the brokerage is asked (409).
    await engine.db.knex('brokerage_connections').where({ user_id: TRADER }).update({ status: 'broken' });
    try {
      await exchange({ method: 'POST', path: '/api/orders/preview', headers: json, body: JSON.stringify({ ...order, accountId: alpacaAccountId }), conforms: true, status: 409 });
      await exchange({ method: 'GET', path: `/api/securities/search?query=MS&accountId=${alpacaAccountId}`, headers: await auth(TRADER), conforms: true, status: 409 });
    } finally {
      await engine.db.knex('brokerage_connections').where({ user_id: TRADER }).update({ status: 'active' });
    }
  });

  it('answers 422 and 503 when the brokerage refuses or fails', async () => {
    const json = await jsonHeaders(TRADER);
    const control = engine.sandbox.control;
    const resting = await exchange({
      method: 'POST',
      path: '/api/orders',
      headers: { ...json, 'idempotency-key': 'openapi-order-3' },
      body: JSON.stringify({ ...order, type: 'limit', limitPrice: '1', timeInForce: 'gtc' }),
      conforms: true,
      status: 201,
    });
    const restingId = (JSON.parse(resting.text) as { id: string }).id;
    try {
      await control.alpacaSetFaults({ probability: 1, statuses: [400], pathPrefixes: ['/v2/orders/'] });
      await exchange({ method: 'POST', path: `/api/orders/${restingId}/cancel`, headers: await auth(TRADER), conforms: true, status: 422 });
      await control.alpacaSetFaults({ probability: 1, statuses: [503], pathPrefixes: ['/v2/orders'] });
      await exchange({ method: 'POST', path: `/api/orders/${restingId}/cancel`, headers: await auth(TRADER), conforms: true, status: 503 });
      await exchange({ method: 'POST', path: '/api/orders', headers: { ...json, 'idempotency-key': 'openapi-503' }, body: JSON.stringify(order), conforms: true, status: 503 });
      await control.alpacaSetFaults({ probability: 1, statuses: [503], pathPrefixes: ['/v2/assets'] });
      await exchange({ method: 'POST', path: '/api/orders/preview', headers: json, body: JSON.stringify(order), conforms: true, status: 503 });
      const unavailable = await exchange({ method: 'GET', path: '/api/securities/search?query=MS', headers: await auth(TRADER), conforms: true, status: 503 });
      expect(unavailable.text).toMatch(/searching securities; search again shortly/);
    } finally {
      await control.alpacaClearFaults();
    }
    // The failed listing of Alpaca's assets was not kept: the next search lists them.
    const found = await exchange({ method: 'GET', path: `/api/securities/search?query=MSF&accountId=${alpacaAccountId}`, headers: await auth(TRADER), conforms: true, status: 200 });
    expect((JSON.parse(found.text) as { securities: { symbol: string }[] }).securities[0]?.symbol).toBe('MSFT');
  });
});

describe('operations and the dashboard conform', () => {
  it('health, readiness, metrics, the dashboard', async () => {
    for (const x of <Exchange[]>[
      { method: 'GET', path: '/healthz', conforms: true, status: 200 },
      { method: 'GET', path: '/readyz', conforms: true, status: 200 },
      { method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` }, conforms: true, status: 200 },
      { method: 'GET', path: '/metrics', conforms: true, status: 401 },
      { method: 'GET', path: '/', conforms: true, status: 200 },
      { method: 'GET', path: '/', headers: { 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: '/admin', conforms: true, status: 200 },
      { method: 'GET', path: '/signin', conforms: true, status: 200 },
      { method: 'GET', path: '/signin', headers: { 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: '/auth/callback', conforms: true, status: 200 },
      { method: 'GET', path: '/auth/callback', headers: { 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: '/connected', conforms: true, status: 200 },
      { method: 'GET', path: '/connected', headers: { 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: '/admin', headers: { 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      { method: 'GET', path: '/dashboard.js', conforms: true, status: 200 },
      { method: 'GET', path: '/dashboard.js', headers: { 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
      // The chunk dashboard.js imports the value chart from, by the name it gives.
      { method: 'GET', path: `/${/chunks\/history-chart-[\w-]+\.js/.exec(await (await fetch(`${engine.url}/dashboard.js`)).text())?.[0]}`, conforms: true, status: 200 },
      { method: 'GET', path: '/chunks/history-chart-NOSUCHHASH.js', conforms: true, status: 404 },
      { method: 'GET', path: '/chunks/history-chart-NOSUCHHASH.js', headers: { 'content-type': 'text/plain' }, body: 'x', conforms: false, status: 415 },
    ]) {
      await exchange(x);
    }
  });

  it("Node's own answers, before any route: 400, 431, 413", async () => {
    const liveness = { method: 'GET', path: '/healthz', conforms: true };
    const malformed = await sendRaw('GET /healthz HTTP/1.1\r\nHost: x\r\nnot a header line\r\n\r\n');
    expect(malformed.status).toBe(400);
    checkAgainstDocument(liveness, malformed);
    const headers = await sendRaw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`);
    expect(headers.status).toBe(431);
    checkAgainstDocument(liveness, headers);
    // Chunk extensions over Node's limit surface while a body is read: the webhook reads its own.
    const webhook = { method: 'POST', path: '/api/snaptrade/webhook', headers: { 'content-type': 'application/json', signature: 'x' }, body: '{}', conforms: false };
    const extensions = await sendRaw(
      `POST /api/snaptrade/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nSignature: x\r\nTransfer-Encoding: chunked\r\n\r\n2;a=${'b'.repeat(20_000)}\r\n{}\r\n0\r\n\r\n`,
    );
    expect(extensions.status).toBe(413);
    checkAgainstDocument(webhook, extensions);
  });
});

/** Documented answers this file does not provoke, and why. */
const NOT_PROVOKED: { match: (operationId: string, status: number, codes: ErrorCode[]) => boolean; why: string }[] = [
  { match: (_op, status) => status === 500, why: 'an unexpected error' },
  { match: (_op, status) => status === 408, why: "Node's request timeout takes minutes" },
  {
    match: (_op, _status, codes) => codes.every((c) => ['FS_MALFORMED_REQUEST', 'FS_PAYLOAD_TOO_LARGE', 'FS_HEADERS_TOO_LARGE'].includes(c)),
    why: "Node's parser answers before any route, the same on every path: each is provoked once (\"Node's own answers\")",
  },
  { match: (op, status) => op === 'refreshConnections' && status === 502, why: 'a sync job that fails for another reason than its time' },
  { match: (op, status) => op === 'receiveSnapTradeWebhook' && status === 503, why: 'Redis down (test/webhooks/redis-outage.test.ts)' },
  { match: (op, status) => op === 'getReadiness' && status === 503, why: 'a server shutting down or a dependency down' },
  {
    match: (op, status) => (op === 'listDevUsers' || op === 'devSignIn') && status === 403,
    why: 'development sign-in is on here; off, it is refused (test/auth/dev-sign-in-only-where-development-sign-in-is-on.test.ts)',
  },
  { match: (op, status) => op === 'disconnectBrokerage' && (status === 502 || status === 503), why: 'SnapTrade failing to remove an authorization' },
  { match: (op, status) => op === 'putSettings' && status === 202, why: "an actor slower than REFRESH_WAIT_MS to apply the change (it answers 200 here)" },
  {
    match: (op, status) => (op === 'deleteMe' || op === 'deleteUser') && (status === 200 || status === 202),
    why: 'a deletion answers 200 (applied within the wait) or 202 (not yet): whichever it gave is checked',
  },
];

describe('coverage', () => {
  it('every documented answer was provoked and checked, but for those listed', () => {
    const missing: string[] = [];
    for (const operations of Object.values(doc.paths)) {
      for (const operation of Object.values(operations)) {
        const { operationId, responses } = operation as { operationId: string; responses: Record<string, unknown> };
        for (const [status, response] of Object.entries(responses)) {
          if (provoked.has(`${operationId} ${status}`)) continue;
          const codes = codesOf(response);
          if (NOT_PROVOKED.some((rule) => rule.match(operationId, Number(status), codes))) continue;
          missing.push(`${operationId} ${status}`);
        }
      }
    }
    expect(missing.sort().join('\n'), 'documented answers never provoked').toBe('');
    // Each operation answered a request that conforms, with a success.
    for (const operations of Object.values(doc.paths)) {
      for (const { operationId } of Object.values(operations) as { operationId: string }[]) {
        expect([...provoked].some((p) => p.startsWith(`${operationId} 2`)), operationId).toBe(true);
      }
    }
  });
});

/** The error codes a documented error answer lists (`const` or `enum` over `Error`). */
function codesOf(response: unknown): ErrorCode[] {
  const schema = (response as { content?: Record<string, { schema?: { allOf?: { properties?: { error?: { properties?: { code?: { const?: ErrorCode; enum?: ErrorCode[] } } } } }[] } }> })
    .content?.['application/json']?.schema;
  const code = schema?.allOf?.[1]?.properties?.error?.properties?.code;
  return code?.enum ?? (code?.const ? [code.const] : []);
}
