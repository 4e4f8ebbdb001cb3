/**
 * How socket.io messages are encoded on the Redis channels between workers (the room emitter) and
 * web nodes (the Redis adapter): JSON, instead of the adapter's default msgpack (notepack.io).
 * Every payload of ours is JSON already (money travels as decimal strings, no binary), and the
 * engine's native JSON encodes and parses a portfolio delta several times faster than notepack's
 * JavaScript msgpack, which was the largest single cost of pushing deltas (bench:ticks profile).
 * Every node and worker of a deployment must use the same parser.
 */
export const realtimeAdapterParser = {
  encode(message: unknown): string {
    return JSON.stringify(message);
  },
  decode(message: Buffer | string): unknown {
    return JSON.parse(typeof message === 'string' ? message : message.toString('utf8'));
  },
};
