import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as openapiBackend from 'openapi-backend';
import type { Operation } from 'openapi-backend';
import YAML from 'yaml';

/**
 * SnapTrade's OpenAPI 3.0 document (`openapi.yaml` beside this file, a verbatim copy of the spec
 * that `snaptrade-typescript-sdk` 11.0.3 was generated from), loaded once per process and used
 * for three things: routing (operationId and path parameters of a request), request validation,
 * and response validation (the sandbox refuses to send an answer the spec does not allow).
 *
 * The file stays verbatim; two adaptations happen in memory only, because ajv (JSON Schema) reads
 * OpenAPI 3.0 schemas slightly differently:
 * - `nullable: true` on a schema without `type` (e.g. beside `allOf`) becomes `anyOf [..., null]`,
 *   and a nullable `enum` also admits null;
 * - the formats the spec uses (`uuid`, `date-time`, `date`, `decimal`, `url`) are checked by
 *   the sandbox's own patterns (date-times may use a space, as SnapTrade's sync dates do).
 */

const SPEC_PATH = fileURLToPath(new URL('./openapi.yaml', import.meta.url));

// openapi-backend is CommonJS: under tsx/Node ESM the class is the module's default export.
const OpenAPIBackend = openapiBackend.OpenAPIBackend;
type Backend = openapiBackend.OpenAPIBackend;

export type SpecOperation = Operation;

export interface SpecMatch {
  operation: SpecOperation;
  operationId: string;
  /** Path template as the spec writes it, e.g. `/accounts/{accountId}/positions/all`. */
  pathTemplate: string;
  params: Record<string, string>;
}

export interface SpecValidation {
  valid: boolean;
  /** Human-readable problems (`instancePath message`), empty when valid. */
  errors: string[];
}

const FORMATS: Record<string, RegExp> = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  'date-time': /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  decimal: /^-?\d+(\.\d+)?$/,
  url: /^https?:\/\/\S+$/,
};

/** Rewrite OpenAPI 3.0 `nullable` without `type` into JSON Schema that ajv accepts. */
function normalizeNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalizeNullable);
  if (node === null || typeof node !== 'object') return node;
  const source = node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    // `example` values are data, not schemas: leave them untouched.
    out[key] = key === 'example' || key === 'examples' ? value : normalizeNullable(value);
  }
  // OpenAPI 3.0: `nullable` admits null even when an `enum` lists only non-null values.
  if (out.nullable === true && Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (out.nullable === true && out.type === undefined && !('$ref' in out)) {
    const { nullable: _nullable, description, ...rest } = out;
    return { ...(description === undefined ? {} : { description }), anyOf: [rest, { type: 'null' }] };
  }
  return out;
}

let loading: Promise<SnaptradeSpec> | undefined;

/** The process-wide spec (parsed and compiled once: about a second for this document). */
export function loadSnaptradeSpec(): Promise<SnaptradeSpec> {
  loading ??= SnaptradeSpec.create();
  return loading;
}

export class SnaptradeSpec {
  private constructor(
    private readonly backend: Backend,
    /** The raw document (as parsed from YAML, before normalisation). */
    readonly document: Record<string, unknown>,
  ) {}

  static async create(): Promise<SnaptradeSpec> {
    const raw = YAML.parse(readFileSync(SPEC_PATH, 'utf8')) as Record<string, unknown>;
    const definition = normalizeNullable(structuredClone(raw)) as Record<string, unknown>;
    const backend = new OpenAPIBackend({
      definition: definition as never,
      quick: true,
      validate: true,
      coerceTypes: true,
      ajvOpts: { strict: false, allErrors: true, logger: false },
      customizeAjv: (ajv) => {
        for (const [name, pattern] of Object.entries(FORMATS)) ajv.addFormat(name, pattern);
        return ajv;
      },
    });
    await backend.init();
    return new SnaptradeSpec(backend, raw);
  }

  /** The spec operation for a request, or undefined when the spec has no such path and method. */
  match(method: string, path: string): SpecMatch | undefined {
    const operation = this.backend.matchOperation({ method: method.toLowerCase(), path, headers: {} });
    if (!operation?.operationId) return undefined;
    const parsed = this.backend.router.parseRequest({ method, path, headers: {} }, operation);
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed.params ?? {})) params[key] = String(value);
    return { operation, operationId: operation.operationId, pathTemplate: operation.path, params };
  }

  /**
   * Validate a request's query and body against the operation. Authentication parameters
   * (`clientId`, `timestamp`: security schemes, not parameters) are checked elsewhere.
   */
  validateRequest(
    match: SpecMatch,
    request: { method: string; path: string; query: Record<string, unknown>; body: unknown; contentType?: string },
  ): SpecValidation {
    const { clientId: _clientId, timestamp: _timestamp, ...query } = request.query;
    const result = this.backend.validateRequest(
      {
        method: request.method.toLowerCase(),
        path: request.path,
        query: query as Record<string, string>,
        headers: { 'content-type': request.contentType ?? 'application/json' },
        body: request.body,
      },
      match.operation,
    );
    return toValidation(result);
  }

  /** Validate a response body against the operation's schema for that status code. */
  validateResponse(operationId: string, status: number, body: unknown): SpecValidation {
    const operation = this.backend.getOperation(operationId);
    if (!operation) return { valid: false, errors: [`unknown operation ${operationId}`] };
    return toValidation(this.backend.validateResponse(body, operation, status));
  }
}

function toValidation(result: { valid: boolean; errors?: unknown[] | null }): SpecValidation {
  const errors = (result.errors ?? []).map((e) => {
    const err = e as { instancePath?: string; message?: string; params?: unknown };
    return `${err.instancePath || '/'} ${err.message ?? 'is invalid'}${err.params ? ` ${JSON.stringify(err.params)}` : ''}`;
  });
  return { valid: result.valid, errors };
}
