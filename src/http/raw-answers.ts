import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERRORS, errorBody, type ErrorCode } from './errors.ts';
import { applySecurityHeaders, securityHeaderList } from './security-headers.ts';

/**
 * Error answers written without Express (the fast routes, the HTTP parser's errors), in the same
 * `{error: {code, message}}` shape and with the same security headers as every other answer.
 */
export function sendJsonError(res: ServerResponse, code: ErrorCode, message: string): void {
  if (res.headersSent) return;
  const text = JSON.stringify(errorBody(code, message));
  applySecurityHeaders(res);
  res.statusCode = ERRORS[code].status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/** 405 with `Allow`: the path exists, but not for this method. */
export function sendMethodNotAllowed(res: ServerResponse, method: string | undefined, path: string, allowed: readonly string[]): void {
  res.setHeader('allow', allowed.join(', '));
  sendJsonError(res, 'FS_METHOD_NOT_ALLOWED', `${method ?? 'this method'} is not allowed on ${path}; use ${allowed.join(' or ')}`);
}

/** What Node answers by itself to a request its HTTP parser refused, as an error code. */
function clientErrorCode(code: string | undefined): ErrorCode {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'FS_HEADERS_TOO_LARGE';
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 'FS_PAYLOAD_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'FS_REQUEST_TIMEOUT';
    default:
      return 'FS_MALFORMED_REQUEST';
  }
}

const CLIENT_ERROR_MESSAGES: Partial<Record<ErrorCode, string>> = {
  FS_HEADERS_TOO_LARGE: 'the URL and headers exceed 16 KB',
  FS_PAYLOAD_TOO_LARGE: 'chunk extensions are too large',
  FS_REQUEST_TIMEOUT: 'the request did not arrive in time',
  FS_MALFORMED_REQUEST: 'the request is not valid HTTP',
};

/**
 * `server.on('clientError')`: Node's own answers to requests its parser refuses (431 for a URL or
 * headers over the limit, 400, 408) carry no body; these carry the API's JSON error and the
 * security headers, then close the connection, as Node does.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // As Node does: answer only when no answer to an earlier request on this (keep-alive) connection
  // is part-way out, or the bytes would corrupt it.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const code = clientErrorCode(err.code);
  const status = ERRORS[code].status;
  const body = JSON.stringify(errorBody(code, CLIENT_ERROR_MESSAGES[code] ?? ERRORS[code].description));
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...securityHeaderList().map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  // A client that never reads the answer must not hold the socket open.
  setTimeout(() => socket.destroy(), 5_000).unref();
}
