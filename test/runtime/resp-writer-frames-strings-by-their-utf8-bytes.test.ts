import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RespWriter } from '../../src/runtime/resp-command.ts';

/** The RESP array of bulk strings, as Redis's protocol spells it out. */
const reference = (texts: readonly string[]): Buffer => Buffer.from(`*${texts.length}\r\n${texts.map((t) => `$${Buffer.byteLength(t)}\r\n${t}\r\n`).join('')}`, 'utf8');

const written = (texts: readonly string[], sizeHint: number): Buffer => {
  const writer = new RespWriter(sizeHint);
  writer.array(texts.length);
  for (const text of texts) writer.bulk(text);
  return writer.bytes();
};

describe('RESP written into one buffer', () => {
  it('frames each string by its UTF-8 byte length, whatever its characters', () => {
    const texts = ['', 'a', 'EVALSHA', 'Société Générale', '€ 1,234.56', 'emoji 😀 and more', 'x'.repeat(9), 'y'.repeat(10), 'z'.repeat(100_000)];
    expect(written(texts, 16).equals(reference(texts))).toBe(true);
  });

  it('matches the protocol for any strings and any starting size (growing as it goes)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 300 }), { maxLength: 40 }), fc.integer({ min: 0, max: 4096 }), (texts, hint) => {
        expect(written(texts, hint).equals(reference(texts))).toBe(true);
      }),
    );
  });

  it('splices bytes encoded once in between, as written', () => {
    const kept = RespWriter.encode('user:42:seq', 'channel#room#');
    const writer = new RespWriter(0);
    writer.array(4);
    writer.raw(kept);
    writer.bulk('middle');
    writer.raw(RespWriter.encode('last'));
    expect(writer.bytes().equals(reference(['user:42:seq', 'channel#room#', 'middle', 'last']))).toBe(true);
  });
});
