/**
 * Scrubbing of secrets that hide inside strings (URLs with `userSecret=...`, error messages that
 * echo a request URL). pino's `redact` only reaches known object paths; this covers the rest.
 */
const SECRET_QUERY_PARAMS = [
  'userSecret',
  'consumerKey',
  'secret',
  'secret_key',
  'token',
  'access_token',
  'api_key',
  'apiKey',
  'key',
  'password',
];

const QUERY_PARAM_PATTERN = new RegExp(
  `([?&;](?:${SECRET_QUERY_PARAMS.join('|')})=)[^&#\\s"']*`,
  'gi',
);
const URL_CREDENTIALS_PATTERN = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/\s@]*:)[^@\s/]+@/gi;
const BEARER_PATTERN = /(Bearer\s+)[A-Za-z0-9._~+/=-]+/g;

export const REDACTED = '[redacted]';

/** Replaces secret query parameters, URL passwords and bearer tokens in a string. */
export function scrubSecrets(text: string): string {
  return text
    .replace(QUERY_PARAM_PATTERN, `$1${REDACTED}`)
    .replace(URL_CREDENTIALS_PATTERN, `$1${REDACTED}@`)
    .replace(BEARER_PATTERN, `$1${REDACTED}`);
}

/** Object paths pino censors wherever they appear in a log record (one level of nesting). */
export const REDACTED_PATHS = [
  'userSecret',
  'consumerKey',
  'secret',
  'secretKey',
  'token',
  'password',
  'authorization',
  'signature',
  'encryptionKey',
  'webhookSecret',
  '*.userSecret',
  '*.consumerKey',
  '*.secret',
  '*.secretKey',
  '*.token',
  '*.password',
  '*.authorization',
  '*.signature',
  '*.webhookSecret',
  '*.encryptionKey',
  'req.headers.authorization',
  'req.headers.signature',
  'req.headers["apca-api-secret-key"]',
  'headers.authorization',
  'headers.signature',
  'headers["apca-api-secret-key"]',
  'config.SNAPTRADE_CONSUMER_KEY',
  'config.ALPACA_SECRET_KEY',
  'config.AUTH_SECRET',
  'config.ADMIN_TOKEN',
  'config.ENCRYPTION_KEY',
  'config.ENCRYPTION_KEYS_PREVIOUS',
];
