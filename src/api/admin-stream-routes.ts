import express, { Router } from 'express';
import type { RedisClient as Redis } from '../runtime/redis-client.ts';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { requireAdmin } from '../auth/middleware.ts';
import { ApiError } from '../http/errors.ts';
import type { Logger } from '../logging/logger.ts';
import { discardDeadLetter, retryDeadLetter } from '../../streams/dead-letter-settle.ts';
import { listDeadLetters } from '../../streams/dead-letter.ts';
import { decodeEnvelope, type Envelope } from '../../streams/envelope.ts';
import type { StreamKeys } from '../../streams/keys.ts';
import { partitionOf } from '../../streams/partition.ts';
import { readUserStreamPage } from '../../streams/user-stream-page.ts';
import {
  deadLetterParams,
  deadLettersQuery,
  discardRequest,
  userStreamQuery,
  type DeadLetterDiscarded,
  type DeadLetterRetried,
  type DeadLettersResponse,
  type UserStreamResponse,
} from './admin-stream-schemas.ts';
import { adminUserId } from './schemas.ts';

export interface AdminStreamDeps {
  redis: Redis;
  keys: StreamKeys;
  partitionCount: number;
  adminToken: string | undefined;
  log: Logger;
  /** Where `foliostream_dead_letters_settled_total{action}` is counted. */
  metrics: Registry;
}

const SETTLED_METRIC = 'foliostream_dead_letters_settled_total';

/** `foliostream_dead_letters_settled_total{action: retried | discarded}`, once per registry. */
export function settledCounter(registry: Registry): Counter<'action'> {
  return (
    (registry.getSingleMetric(SETTLED_METRIC) as Counter<'action'> | undefined) ??
    new Counter({
      name: SETTLED_METRIC,
      help: 'Dead letters an operator retried (appended again for the actor) or discarded, through the admin API.',
      labelNames: ['action'] as const,
      registers: [registry],
    })
  );
}

/** Parses `input` or answers 400 FS_VALIDATION naming each bad field. */
function valid<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ApiError('FS_VALIDATION', z.prettifyError(parsed.error));
  return parsed.data;
}

const RAW_SHOWN = 2_000;

/**
 * Operator routes over the streams (admin token), mounted under `/api/admin`:
 * - `GET /users/:id/stream`: the user's entries in their partition stream or its dead-letter
 *   stream, decoded, a page at a time (`cursor` = the previous page's `next`), newest or oldest
 *   first; other users' entries of the partition are never shown;
 * - `GET /dead-letters`: parked entries of every partition (or one), with why and by whom;
 * - `POST /dead-letters/:partition/:id/retry`: the entry goes back to the end of its partition
 *   stream for the user's actor, atomically with its removal from the dead letters (a second
 *   retry finds nothing: 404, or 409 for a later copy of an entry already retried);
 * - `POST /dead-letters/:partition/:id/discard` `{reason}`: removed, with the reason logged.
 */
export function adminStreamRouter(deps: AdminStreamDeps): Router {
  const router = Router();
  router.use(requireAdmin(deps.adminToken));
  const log = deps.log.child({ module: 'admin-streams' });
  const settledTotal = settledCounter(deps.metrics);

  const partitionParam = (raw: unknown) => {
    const params = valid(deadLetterParams, raw);
    if (params.partition >= deps.partitionCount) {
      throw new ApiError('FS_VALIDATION', `partition: must be below PARTITION_COUNT (${deps.partitionCount})`);
    }
    return params;
  };

  router.get('/users/:id/stream', async (req, res) => {
    const userId = adminUserId.safeParse(req.params.id);
    if (!userId.success) throw new ApiError('FS_VALIDATION', 'id: a user id of 1 to 200 characters');
    const query = valid(userStreamQuery, req.query);
    const partition = partitionOf(userId.data, deps.partitionCount);
    const page = await readUserStreamPage(deps.redis, deps.keys, partition, userId.data, {
      stream: query.stream,
      order: query.order,
      limit: query.limit,
      ...(query.cursor ? { after: query.cursor } : {}),
    });
    const body: UserStreamResponse = {
      userId: userId.data,
      partition,
      stream: query.stream,
      order: query.order,
      entries: page.entries,
      next: page.next,
      scanned: page.scanned,
    };
    res.json(body);
  });

  router.get('/dead-letters', async (req, res) => {
    const query = valid(deadLettersQuery, req.query);
    if (query.partition !== undefined && query.partition >= deps.partitionCount) {
      throw new ApiError('FS_VALIDATION', `partition: must be below PARTITION_COUNT (${deps.partitionCount})`);
    }
    const partitions = query.partition === undefined ? [...Array(deps.partitionCount).keys()] : [query.partition];
    const [cursorPartition, cursorId] = query.cursor?.split(':') ?? [];
    const after = query.cursor ? { partition: Number(cursorPartition), id: cursorId! } : undefined;
    const [listed, total] = await Promise.all([
      listDeadLetters(deps.redis, deps.keys, partitions, { limit: query.limit, ...(after ? { after } : {}) }),
      Promise.all(partitions.map((p) => deps.redis.xlen(deps.keys.deadLetterStream(p)))).then((lengths) => lengths.reduce((a, b) => a + b, 0)),
    ]);
    const body: DeadLettersResponse = {
      deadLetters: listed.letters.map(({ envelope: raw, ...letter }) => {
        let envelope: Envelope | null = null;
        try {
          envelope = decodeEnvelope(raw);
        } catch {
          // Shown raw: the entry never decoded (that is why it was parked).
        }
        return {
          ...letter,
          user: envelope?.user ?? null,
          type: envelope?.type ?? null,
          envelope,
          ...(envelope ? {} : { raw: raw.slice(0, RAW_SHOWN) }),
        };
      }),
      total,
      next: listed.next ? `${listed.next.partition}:${listed.next.id}` : null,
    };
    res.json(body);
  });

  router.post('/dead-letters/:partition/:id/retry', async (req, res) => {
    const { partition, id } = partitionParam(req.params);
    const settled = await retryDeadLetter(deps.redis, deps.keys, partition, id);
    switch (settled.outcome) {
      case 'missing':
        throw new ApiError('FS_NOT_FOUND', `no dead letter ${id} in partition ${partition} (already retried or discarded?)`);
      case 'settled-before':
        throw new ApiError('FS_CONFLICT', `entry ${settled.entryId} was settled before (${settled.marker}): this is a later copy of it; discard it`);
      case 'not-retryable':
        throw new ApiError('FS_CONFLICT', `entry ${settled.entryId} cannot be retried: ${settled.reason}; discard it`);
      case 'retried': {
        log.warn(
          { partition, deadLetterId: id, entryId: settled.entryId, userId: settled.user, type: settled.type, streamId: settled.streamId, removed: settled.removed },
          'dead letter retried by an operator',
        );
        settledTotal.inc({ action: 'retried' });
        const body: DeadLetterRetried = {
          outcome: 'retried',
          partition,
          deadLetterId: id,
          entryId: settled.entryId,
          user: settled.user,
          type: settled.type,
          streamId: settled.streamId,
          removed: settled.removed,
        };
        res.json(body);
        return;
      }
      case 'discarded':
        throw new Error('a retry answered discarded');
    }
  });

  // The only route with a body.
  router.post('/dead-letters/:partition/:id/discard', express.json({ limit: '16kb' }), async (req, res) => {
    const { partition, id } = partitionParam(req.params);
    const { reason } = valid(discardRequest, req.body ?? {});
    const settled = await discardDeadLetter(deps.redis, deps.keys, partition, id, reason);
    if (settled.outcome !== 'discarded') {
      throw new ApiError('FS_NOT_FOUND', `no dead letter ${id} in partition ${partition} (already retried or discarded?)`);
    }
    log.warn(
      { partition, deadLetterId: id, entryId: settled.entryId, userId: settled.user, type: settled.type, removed: settled.removed, reason },
      'dead letter discarded by an operator',
    );
    settledTotal.inc({ action: 'discarded' });
    const body: DeadLetterDiscarded = {
      outcome: 'discarded',
      partition,
      deadLetterId: id,
      entryId: settled.entryId,
      user: settled.user,
      type: settled.type,
      removed: settled.removed,
    };
    res.json(body);
  });

  return router;
}
