import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import { execPerSlot, type RedisClient as Redis } from '../../src/runtime/redis-client.ts';
import { ENVELOPE_FIELD } from '../envelope.ts';

/** The script's source, read once; see the header of `append-webhook.lua` for its contract. */
export const APPEND_WEBHOOK_LUA = readFileSync(new URL('./append-webhook.lua', import.meta.url), 'utf8');

const COMMAND = 'fsAppendWebhook';

export interface AppendWebhookResult {
  /** The partition stream entry holding the webhook (the first delivery's, for a duplicate). */
  streamId: string;
  duplicate: boolean;
}

export type AppendWebhook = (
  keys: { seen: string; stream: string },
  envelopeJson: string,
  seenTtlSeconds: number,
) => Promise<AppendWebhookResult>;

type ScriptArgs = [seenKey: string, stream: string, field: string, envelope: string, ttl: number];
type ScriptReply = [number, string];
type WithScript<T> = T & Record<typeof COMMAND, (...args: ScriptArgs) => unknown>;

interface Pending {
  args: ScriptArgs;
  resolve(reply: ScriptReply): void;
  reject(error: Error): void;
}

/**
 * Registers the script on a client (ioredis `defineCommand`: EVALSHA, falling back to EVAL when a
 * restarted Redis lost its script cache) and returns a typed caller.
 *
 * Calls made in the same tick of the event loop go out as one pipeline: one socket write for many
 * concurrent webhooks instead of one each (what ioredis' `enableAutoPipelining` does, without
 * changing the shared client). Each call still resolves or fails on its own reply; a pipeline is
 * not a transaction, and every script call is atomic by itself.
 */
export function defineAppendWebhook(redis: Redis): AppendWebhook {
  if (typeof (redis as unknown as Record<string, unknown>)[COMMAND] !== 'function') {
    redis.defineCommand(COMMAND, { numberOfKeys: 2, lua: APPEND_WEBHOOK_LUA });
  }
  let queue: Pending[] = [];

  const flush = () => {
    const batch = queue;
    queue = [];
    if (batch.length === 1) {
      const [only] = batch as [Pending];
      ((redis as WithScript<Redis>)[COMMAND](...only.args) as Promise<ScriptReply>).then(only.resolve, only.reject);
      return;
    }
    // A burst spans partitions: one pipeline per partition slot (per node on a cluster).
    execPerSlot(redis, batch, (pending) => pending.args[0], (pipeline, pending) => (pipeline as WithScript<ChainableCommander>)[COMMAND](...pending.args)).then(
      (results) => {
        batch.forEach((pending, i) => {
          const [error, reply] = results?.[i] ?? [new Error('no reply from Redis'), null];
          if (error) pending.reject(error);
          else pending.resolve(reply as ScriptReply);
        });
      },
      (error: unknown) => {
        const err = error instanceof Error ? error : new Error(String(error));
        for (const pending of batch) pending.reject(err);
      },
    );
  };

  return (keys, envelopeJson, seenTtlSeconds) =>
    new Promise<ScriptReply>((resolve, reject) => {
      queue.push({ args: [keys.seen, keys.stream, ENVELOPE_FIELD, envelopeJson, seenTtlSeconds], resolve, reject });
      if (queue.length === 1) setImmediate(flush);
    }).then(([appended, streamId]) => ({ streamId, duplicate: appended === 0 }));
}
