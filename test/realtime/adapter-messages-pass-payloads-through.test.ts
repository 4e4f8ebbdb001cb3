import { Encoder, PacketType } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { RawJson, realtimeAdapterParser, realtimeSocketParser } from '../../src/realtime/adapter-parser.ts';

const delta = { seq: 7, asOf: '2026-06-02T14:30:00.000Z', note: 'a\nb "quoted" ✓', repriced: [{ id: 'listing:AAPL@XNAS:USD', price: '191.25' }] };
const opts = { rooms: ['user:u1'], except: [], flags: {} };

describe('messages between workers and web nodes', () => {
  it('carry an event payload as text that a web node sends on unparsed, byte for byte as socket.io would', () => {
    const wire = realtimeAdapterParser.encode(['worker-uid', { type: PacketType.EVENT, data: ['portfolio:delta', delta], nsp: '/' }, opts]);
    const [uid, packet, decodedOpts] = realtimeAdapterParser.decode(Buffer.from(wire)) as [string, { type: number; nsp: string; data: unknown[] }, unknown];
    expect(uid).toBe('worker-uid');
    expect(decodedOpts).toEqual(opts);
    expect(packet.data[0]).toBe('portfolio:delta');
    expect(packet.data[1]).toBeInstanceOf(RawJson);
    expect(JSON.parse((packet.data[1] as RawJson).text)).toEqual(delta);

    const sent = new realtimeSocketParser.Encoder().encode(packet as never);
    const standard = new Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['portfolio:delta', delta] });
    expect(sent).toEqual(standard);
    // Another namespace keeps its prefix, as in the standard encoding.
    expect(new realtimeSocketParser.Encoder().encode({ ...packet, nsp: '/admin' } as never)).toEqual(
      new Encoder().encode({ type: PacketType.EVENT, nsp: '/admin', data: ['portfolio:delta', delta] }),
    );
  });

  it('carry anything else as plain JSON', () => {
    const withAck = ['uid', { type: PacketType.EVENT, data: ['ping', 1], nsp: '/', id: 3 }, opts];
    const request = { type: 2, requestId: 'r1', opts: { rooms: ['user:u1'] } };
    const twoArgs = ['uid', { type: PacketType.EVENT, data: ['sync:status', { a: 1 }, { b: 2 }], nsp: '/' }, opts];
    for (const message of [withAck, request, twoArgs]) {
      const wire = realtimeAdapterParser.encode(message);
      expect(wire).toBe(JSON.stringify(message));
      expect(realtimeAdapterParser.decode(wire)).toEqual(message);
    }
  });
});
