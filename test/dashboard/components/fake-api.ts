import { vi } from 'vitest';
import type { z } from 'zod';
import { errorResponse } from '../../../src/api/schemas.ts';
import { ERRORS, type ErrorCode } from '../../../src/http/errors.ts';

/**
 * A fake `fetch` for component tests: it answers the routes a test gives it (`'PUT /api/me/settings'`)
 * with bodies checked against the API's own response schemas (src/api/schemas.ts), so an answer the
 * real API could not give fails the test instead of passing it; a refusal is `{error: {code,
 * message}}` with the code's status from src/http/errors.ts. Every request is recorded. A request
 * to a route the test did not give is recorded in `unrouted` and fails as a network error would.
 */

export interface SentRequest {
  method: string;
  /** The path with its query (`/api/activities?limit=20`). */
  url: string;
  headers: Headers;
  /** The JSON body, parsed (`undefined` without one). */
  body: unknown;
}

export interface Answer {
  status: number;
  body: unknown;
}

export type Route = (request: SentRequest) => Answer | Promise<Answer>;

/** A documented answer: `body` is what `schema` describes (checked when the fake is built). */
export function answer<S extends z.ZodType>(schema: S, body: z.output<S>, status = 200): Answer {
  return { status, body: schema.parse(body) };
}

/** A refusal as the API words it, with the status its code has. */
export function refusal(code: ErrorCode, message: string): Answer {
  return { status: ERRORS[code].status, body: errorResponse.parse({ error: { code, message } }) };
}

export interface FakeApi {
  requests: SentRequest[];
  unrouted: string[];
  /** Answers whose body the client has read (`json()` or `text()`): what it did with one has happened by the next task. */
  read: number;
  /** Requests whose method and path (without the query) are `route`, e.g. `'POST /api/orders'`. */
  sent(route: string): SentRequest[];
}

const routeOf = (method: string, url: string) => `${method} ${url.split('?')[0]}`;

/** Replaces the global `fetch` (what the components call) until `vi.unstubAllGlobals()`. */
export function installFakeApi(routes: Record<string, Route>): FakeApi {
  const api: FakeApi = {
    requests: [],
    unrouted: [],
    read: 0,
    sent: (route) => api.requests.filter((r) => routeOf(r.method, r.url) === route),
  };
  const fakeFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = String(input);
    const method = (init.method ?? 'GET').toUpperCase();
    const request: SentRequest = {
      method,
      url,
      headers: new Headers(init.headers),
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    api.requests.push(request);
    const route = routes[routeOf(method, url)];
    if (!route) {
      api.unrouted.push(routeOf(method, url));
      throw new TypeError(`fake API: no route ${routeOf(method, url)}`);
    }
    const { status, body } = await route(request);
    const response = new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    for (const reader of ['json', 'text'] as const) {
      const read = response[reader].bind(response);
      response[reader] = async () => {
        const value = await read();
        api.read += 1;
        return value;
      };
    }
    return response;
  };
  vi.stubGlobal('fetch', fakeFetch);
  return api;
}
