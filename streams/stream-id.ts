/** A Redis stream entry id `<ms>-<seq>`, comparable as a pair of integers. */
export interface StreamId {
  ms: number;
  seq: number;
}

export function parseStreamId(id: string): StreamId {
  const match = /^(\d+)-(\d+)$/.exec(id);
  if (!match) throw new Error(`not a stream id: ${id}`);
  return { ms: Number(match[1]), seq: Number(match[2]) };
}

export function formatStreamId(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

/** Negative when a < b, 0 when equal, positive when a > b. */
export function compareStreamIds(a: StreamId | string, b: StreamId | string): number {
  const x = typeof a === 'string' ? parseStreamId(a) : a;
  const y = typeof b === 'string' ? parseStreamId(b) : b;
  return x.ms !== y.ms ? x.ms - y.ms : x.seq - y.seq;
}
