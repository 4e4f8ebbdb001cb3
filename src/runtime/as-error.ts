/** What was thrown, as an Error: a thrown string or object becomes the message of one. */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}
