import type { z } from 'zod';

/** One problem found in a provider payload: where (a JSON path like `results[3].units`) and what. */
export interface PayloadIssue {
  path: string;
  message: string;
}

/**
 * A provider payload that cannot be normalised. The sync job catches it and sends the payload
 * to the dead-letter stream with `message` as the reason; nothing else in the portfolio code
 * throws on provider data.
 */
export class PayloadValidationError extends Error {
  override readonly name = 'PayloadValidationError';
  /** Stable code for logs and the dead-letter record. */
  readonly code = 'PORTFOLIO_BAD_PAYLOAD';

  constructor(
    /** What was being read, e.g. `snaptrade.positions`, `alpaca.positions`, `snaptrade.currencies.rates`. */
    readonly source: string,
    readonly issues: readonly PayloadIssue[],
  ) {
    const shown = issues.slice(0, 5).map((i) => `${i.path || '(root)'}: ${i.message}`);
    const more = issues.length > 5 ? ` (+${issues.length - 5} more)` : '';
    super(`invalid ${source} payload: ${shown.join('; ')}${more}`);
  }
}

/** `a.b[2].c` from a zod/JS path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Parse `input` with `schema`, or throw a `PayloadValidationError` listing every issue. */
export function parsePayload<S extends z.ZodType>(source: string, schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new PayloadValidationError(
    source,
    result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
  );
}
