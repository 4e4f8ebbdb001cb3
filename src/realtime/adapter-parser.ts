import * as socketParser from 'socket.io-parser';

/**
 * How socket.io messages travel on the Redis channels between workers (the room emitter) and web
 * nodes (the Redis adapter), and how a web node passes them on to its sockets.
 *
 * JSON rather than the adapter's default msgpack (notepack.io): every payload of ours is JSON
 * already (money travels as decimal strings, no binary), and native JSON is several times faster
 * than notepack's JavaScript msgpack, which was the largest single cost of pushing deltas.
 *
 * A broadcast of one event is written as `<header JSON>\n<payload JSON>`: a web node parses the
 * small header (who sent it, to which rooms, which event) and keeps the payload as text
 * (`RawJson`); `realtimeSocketParser` then splices that text into the socket.io packet it sends.
 * So a delta is serialized once, by the worker, instead of parsed and serialized again on every
 * web node (bench:ticks profile: a quarter of a web node's CPU). JSON text never holds a raw
 * newline, so the first one is the separator. Any other message is plain JSON.
 *
 * Every node and worker of a deployment must use the same parsers.
 */

/** A JSON text passed along as it is. */
export class RawJson {
  constructor(readonly text: string) {}
}

type Packet = { type: number; data?: unknown; nsp?: string; id?: number };

/** `[event, payload]` of a plain event packet (no ack): what can travel with its payload as text. */
function singleEvent(packet: unknown): packet is Packet & { data: [string, unknown] } {
  const p = packet as Packet | null;
  return (
    typeof p === 'object' && p !== null && p.type === socketParser.PacketType.EVENT && p.id === undefined &&
    Array.isArray(p.data) && p.data.length === 2 && typeof p.data[0] === 'string'
  );
}

export const realtimeAdapterParser = {
  encode(message: unknown): string {
    if (Array.isArray(message) && message.length === 3 && singleEvent(message[1])) {
      const [uid, packet, opts] = message as [string, Packet & { data: [string, unknown] }, unknown];
      const [event, payload] = packet.data;
      const payloadText = payload instanceof RawJson ? payload.text : JSON.stringify(payload);
      return `${JSON.stringify([uid, { ...packet, data: [event] }, opts])}\n${payloadText}`;
    }
    return JSON.stringify(message);
  },
  decode(message: Buffer | string): unknown {
    const text = typeof message === 'string' ? message : message.toString('utf8');
    const newline = text.indexOf('\n');
    if (newline < 0) return JSON.parse(text);
    const [uid, packet, opts] = JSON.parse(text.slice(0, newline)) as [string, Packet & { data: unknown[] }, unknown];
    packet.data.push(new RawJson(text.slice(newline + 1)));
    return [uid, packet, opts];
  },
};

/** socket.io-parser's encoder, writing a `RawJson` payload as the text it holds. */
class RawJsonEncoder extends socketParser.Encoder {
  override encode(packet: socketParser.Packet): unknown[] {
    const data = packet.data as unknown[] | undefined;
    if (singleEvent(packet) && data![1] instanceof RawJson) {
      // The string form socket.io-parser writes: type, `nsp,` unless "/", then the JSON data.
      const nsp = packet.nsp && packet.nsp !== '/' ? `${packet.nsp},` : '';
      return [`${packet.type}${nsp}[${JSON.stringify(data![0])},${data![1].text}]`];
    }
    return super.encode(packet) as unknown[];
  }
}

/** The socket.io `parser` of the gateway's server: the standard one, with `RawJsonEncoder`. */
export const realtimeSocketParser = { ...socketParser, Encoder: RawJsonEncoder };
