import { formatParts, SAFE_PARTS_MAX_BYTES, SAFE_PARTS_MAX_SCALE, writeSafeParts } from '../portfolio/scaled-decimal.ts';
import type { RespWriter } from '../runtime/resp-command.ts';

/**
 * JSON written as bytes into a call being encoded (`RespWriter`), each part the bytes
 * `JSON.stringify` would make of it: the delta sender writes a delta's repricings this way, without
 * printing each figure into a string and the strings into the delta's text first.
 */

const QUOTE = 34;

/** One byte of JSON's punctuation. */
export function writeJsonByte(out: RespWriter, byte: number): void {
  out.room(1)[out.at++] = byte;
}

/** `JSON.stringify(text)`. */
export function writeJsonString(out: RespWriter, text: string): void {
  const length = text.length;
  const into = out.room(length + 2);
  let at = out.at;
  into[at++] = QUOTE;
  // Printable ASCII other than `"` and `\` (ids, decimals, times) is its own JSON; anything else is escaped by JSON itself.
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c > 126 || c === QUOTE || c === 92) {
      out.text(JSON.stringify(text));
      return;
    }
    into[at++] = c;
  }
  into[at++] = QUOTE;
  out.at = at;
}

/** `JSON.stringify(text)`, `null` included. */
export function writeJsonNullableString(out: RespWriter, text: string | null): void {
  if (text === null) writeNull(out);
  else writeJsonString(out, text);
}

/** `JSON.stringify(formatParts(n, s))`, or `null` when `n` is. */
export function writeJsonDecimal(out: RespWriter, n: number | null, s: number): void {
  if (n === null) {
    writeNull(out);
    return;
  }
  if (s > SAFE_PARTS_MAX_SCALE || !Number.isSafeInteger(n)) {
    writeJsonString(out, formatParts(n, s));
    return;
  }
  const into = out.room(SAFE_PARTS_MAX_BYTES + 2);
  let at = out.at;
  into[at++] = QUOTE;
  at = writeSafeParts(into, at, n, s);
  into[at++] = QUOTE;
  out.at = at;
}

function writeNull(out: RespWriter): void {
  const into = out.room(4);
  const at = out.at;
  into[at] = 110; // 'n'
  into[at + 1] = 117; // 'u'
  into[at + 2] = 108; // 'l'
  into[at + 3] = 108;
  out.at = at + 4;
}
