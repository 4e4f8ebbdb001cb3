import { Command } from 'ioredis';

/**
 * A Redis command written as RESP bytes by its caller, for calls whose arguments are many and
 * large (the delta sender's script call: hundreds of deltas of a kilobyte or so each).
 *
 * Given strings, ioredis builds a call as one concatenated string, a rope of five pieces per
 * argument, which the socket then flattens into a copy of the whole call and encodes again: three
 * copies of every byte in the JS heap, held until Redis replies, i.e. often past a scavenge that
 * then copies and promotes them (bench:tick-path's allocation profile: a third of the bytes the
 * tick path made). Here each argument is encoded once, into one buffer outside the JS heap, and
 * the strings it came from die young.
 */
export class EncodedCommand extends Command {
  readonly #bytes: Buffer;

  constructor(name: string, bytes: Buffer) {
    super(name, [], { replyEncoding: 'utf8' });
    this.#bytes = bytes;
  }

  override toWritable(): Buffer {
    return this.#bytes;
  }
}

/** Room for the longest `$<length>\r\n` header (a length below 10^16). */
const HEADER_ROOM = 20;
const CR = 13;
const LF = 10;

/**
 * Writes a RESP array of bulk strings into one growing buffer (`EncodedCommand`'s bytes). The
 * buffer can be one kept from an earlier call whose reply has come (`buffer`), so that a busy
 * sender does not make one per call: a call's buffer lives until Redis replies, often past a
 * scavenge, and a promoted buffer's memory outside the heap is freed only by a full GC (made
 * fresh per call, they piled up to 90 MB between full GCs and brought those on sooner).
 */
export class RespWriter {
  #buffer: Buffer;
  #at = 0;
  /** Where the open bulk string's header goes (`beginBulk`). */
  #header = 0;

  /** Into `start` (a buffer to reuse) or a new buffer of `start` bytes. */
  constructor(start: Buffer | number) {
    this.#buffer = typeof start === 'number' ? Buffer.allocUnsafe(Math.max(start, 256)) : start;
  }

  /** The buffer written into (grown past the one given when that was too small). */
  get buffer(): Buffer {
    return this.#buffer;
  }

  /** The array header: `*<count>\r\n`. */
  array(count: number): void {
    this.#reserve(HEADER_ROOM);
    this.#buffer[this.#at++] = 42; // '*'
    this.#decimalLine(count);
  }

  /** One bulk string: `$<UTF-8 byte length>\r\n<text>\r\n`. */
  bulk(text: string): void {
    this.beginBulk();
    this.text(text);
    this.endBulk();
  }

  /**
   * Opens a bulk string whose bytes the next writes make (`text`, `room`), for a caller that
   * writes its parts straight into the call instead of joining them into one string first;
   * `endBulk` closes it.
   */
  beginBulk(): void {
    this.#reserve(HEADER_ROOM);
    this.#header = this.#at;
    // The bytes go past the most room a header takes; `endBulk` moves them back behind the header.
    this.#at += HEADER_ROOM;
  }

  /** Closes the bulk string `beginBulk` opened: its header says the length of what was written since. */
  endBulk(): void {
    const start = this.#header + HEADER_ROOM;
    const length = this.#at - start;
    this.#at = this.#header;
    this.#buffer[this.#at++] = 36; // '$'
    this.#decimalLine(length);
    if (this.#at !== start) this.#buffer.copyWithin(this.#at, start, start + length);
    this.#at += length;
    this.#reserve(2);
    this.#buffer[this.#at++] = CR;
    this.#buffer[this.#at++] = LF;
  }

  /** The UTF-8 of `text`, inside a bulk string (`beginBulk`). */
  text(text: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4).
    this.#reserve(text.length * 3);
    this.#at += this.#buffer.write(text, this.#at, 'utf8');
  }

  /**
   * Room for `bytes` more: the buffer to write them into from `at`, after which the caller moves
   * `at` to where its bytes end (a pure writer of bytes, like a number's digits, writes there).
   */
  room(bytes: number): Buffer {
    this.#reserve(bytes);
    return this.#buffer;
  }

  /** Where the next byte goes. */
  get at(): number {
    return this.#at;
  }

  set at(end: number) {
    this.#at = end;
  }

  /** Bytes already in RESP (bulk strings encoded once and kept, `RespWriter.encode`). */
  raw(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.#at);
    this.#at += bytes.length;
  }

  /** What was written (a view of the buffer: the writer must not be used after). */
  bytes(): Buffer {
    return this.#buffer.subarray(0, this.#at);
  }

  /** `texts` as consecutive bulk strings, to be written with `raw` many times. */
  static encode(...texts: string[]): Buffer {
    const writer = new RespWriter(texts.reduce((n, t) => n + t.length * 3 + HEADER_ROOM + 2, 0));
    for (const text of texts) writer.bulk(text);
    return Buffer.from(writer.bytes());
  }

  #decimalLine(n: number): void {
    let digits = 1;
    for (let p = 10; p <= n; p *= 10) digits++;
    let at = this.#at + digits;
    this.#at = at;
    do {
      this.#buffer[--at] = 48 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
    this.#buffer[this.#at++] = CR;
    this.#buffer[this.#at++] = LF;
  }

  #reserve(bytes: number): void {
    const needed = this.#at + bytes;
    if (needed <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.#buffer.length * 2));
    this.#buffer.copy(grown, 0, 0, this.#at);
    this.#buffer = grown;
  }
}
