import { execPerSlot, type RedisClient as Redis } from '../src/runtime/redis-client.ts';
import { ENVELOPE_FIELD, encodeEnvelope, type Envelope } from './envelope.ts';
import type { StreamKeys } from './keys.ts';

/** One entry of an `appendMany` that failed, or the id it was appended as. */
export type AppendOutcome = { ok: true; streamId: string } | { ok: false; error: Error };

/**
 * Thrown by `appendMany` when some entries were not appended. A pipeline is not a transaction:
 * `outcomes` says which entries made it, so a caller retries only the others.
 */
export class StreamAppendError extends Error {
  constructor(readonly outcomes: AppendOutcome[]) {
    const failed = outcomes.filter((o) => !o.ok).length;
    super(`${failed} of ${outcomes.length} stream appends failed`);
    this.name = 'StreamAppendError';
  }
}

export interface StreamProducer {
  /** XADD one envelope to its partition stream; resolves with the stream id once Redis has it. */
  append(envelope: Envelope): Promise<string>;
  /** XADDs many envelopes in one pipeline (one round trip); ids in input order. */
  appendMany(envelopes: readonly Envelope[]): Promise<string[]>;
}

/**
 * Appends envelopes to partition streams (`keys.partitionStream(envelope.partition)`), as one JSON
 * field `e`. Used by sync jobs and replay tooling; webhooks go through the dedupe script instead
 * (`streams/scripts/append-webhook.ts`). Streams are not trimmed here: the workers' stream
 * maintenance trims them once snapshots cover what is cut (`src/replay/stream-maintenance.ts`).
 */
export function createStreamProducer(redis: Redis, keys: StreamKeys): StreamProducer {
  return {
    async append(envelope) {
      const id = await redis.xadd(keys.partitionStream(envelope.partition), '*', ENVELOPE_FIELD, encodeEnvelope(envelope));
      if (id === null) throw new Error('XADD returned no id');
      return id;
    },
    async appendMany(envelopes) {
      if (envelopes.length === 0) return [];
      // Envelopes of several partitions: one pipeline per partition slot (per node on a cluster).
      const stream = (envelope: Envelope) => keys.partitionStream(envelope.partition);
      const results = await execPerSlot(redis, envelopes, stream, (pipeline, envelope) =>
        pipeline.xadd(stream(envelope), '*', ENVELOPE_FIELD, encodeEnvelope(envelope)),
      );
      const outcomes: AppendOutcome[] = envelopes.map((_, i) => {
        const [error, id] = results[i] ?? [new Error('no reply'), null];
        if (error) return { ok: false, error };
        if (typeof id !== 'string') return { ok: false, error: new Error('XADD returned no id') };
        return { ok: true, streamId: id };
      });
      if (outcomes.some((o) => !o.ok)) throw new StreamAppendError(outcomes);
      return outcomes.map((o) => (o as { ok: true; streamId: string }).streamId);
    },
  };
}
