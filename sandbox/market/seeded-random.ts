import { createHash } from 'node:crypto';

/**
 * Seeded randomness for the sandbox market: every identifier and every random-walk step is a
 * pure function of the scenario seed, so the same seed replays the same market.
 */

/** A uniform [0, 1) generator. */
export type Random = () => number;

/** sfc32: small, fast, good-quality 32-bit PRNG; the whole state comes from the seed material. */
export function createRandom(...seedParts: Array<string | number>): Random {
  const digest = createHash('sha256').update(seedParts.join('\u0000')).digest();
  let a = digest.readUInt32LE(0);
  let b = digest.readUInt32LE(4);
  let c = digest.readUInt32LE(8);
  let d = digest.readUInt32LE(12);
  const next = (): number => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // Discard the first outputs: sfc32 mixes its state over a few rounds.
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** A standard normal draw (Box-Muller) from a uniform generator. */
export function normal(random: Random): number {
  let u = 0;
  while (u === 0) u = random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** An RFC 4122 version-4-shaped UUID derived from the seed material (stable, not random). */
export function seededUuid(...seedParts: Array<string | number>): string {
  const bytes = createHash('sha256').update(['uuid', ...seedParts].join('\u0000')).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

// FIGI: "BBG" + 8 characters from digits and consonants (no vowels) + a check digit. Seeded ones
// start "BBG00" like most real equity FIGIs.
const FIGI_ALPHABET = '0123456789BCDFGHJKLMNPQRSTVWXYZ';

/** The FIGI check digit (modified Luhn over the 11 leading characters, letters A=10 ... Z=35). */
export function figiCheckDigit(first11: string): number {
  let sum = 0;
  for (let i = 0; i < first11.length; i++) {
    const ch = first11[i]!;
    let value = /[0-9]/.test(ch) ? Number(ch) : ch.charCodeAt(0) - 55;
    if (i % 2 === 1) value *= 2;
    sum += Math.floor(value / 10) + (value % 10);
  }
  return (10 - (sum % 10)) % 10;
}

/** A syntactically valid FIGI derived from the seed material. */
export function seededFigi(...seedParts: Array<string | number>): string {
  const digest = createHash('sha256').update(['figi', ...seedParts].join('\u0000')).digest();
  let body = 'BBG00';
  for (let i = 0; i < 6; i++) body += FIGI_ALPHABET[digest[i]! % FIGI_ALPHABET.length];
  return body + String(figiCheckDigit(body));
}
