import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isCluster, type RedisClient } from '../runtime/redis-client.ts';
import type { PortfolioDelta } from './events.ts';
import { toDelta, writeDeltaAfterSeq, type PendingDelta } from './pending-delta.ts';
import type { PortfolioSequence } from './portfolio-sequence.ts';
import type { RealtimeKeys } from './realtime-keys.ts';
import { classicRoomFrames, type RoomEmitter } from './room-emitter.ts';
import { userRoom } from './events.ts';
import { asError } from '../runtime/as-error.ts';
import { EncodedCommand, RespWriter } from '../runtime/resp-command.ts';

/** One user's pending changes, to be numbered and sent as one delta. */
export interface OutgoingDelta {
  userId: string;
  pending: PendingDelta;
}

/**
 * How the delta coalescer numbers and publishes the deltas of the users whose windows close on
 * one step of its clock.
 */
export interface DeltaSender {
  /**
   * Numbers each user's delta with their next seq (`PortfolioSequence.next`) and publishes it.
   * Resolves with one outcome per item, in order: the seq it was sent with, or why it was not
   * sent (its seq may have been taken: the client sees a gap and asks for a snapshot). Rejects
   * when Redis could not be asked at all; some of the deltas may have been sent anyway (a delta
   * carries absolute values, so sending one again is harmless).
   */
  send(deltas: readonly OutgoingDelta[]): Promise<Array<number | Error>>;
}

/**
 * The sender of a worker: one script per clock step on a single Redis (`scriptedDeltaSender`); on
 * a Redis Cluster, where one script cannot reach every user's key and sharded channel, two
 * commands per delta (`commandDeltaSender`).
 */
export function createDeltaSender(redis: RedisClient, keys: RealtimeKeys, sequence: PortfolioSequence, emitter: Pick<RoomEmitter, 'delta'>): DeltaSender {
  if (isCluster(redis)) return commandDeltaSender(sequence, (userId, delta) => emitter.delta(userId, delta));
  return scriptedDeltaSender(redis, keys);
}

/** Each delta on its own: INCR of the user's seq, then the room emitter's publish. */
export function commandDeltaSender(sequence: PortfolioSequence, emit: (userId: string, delta: PortfolioDelta) => Promise<unknown>): DeltaSender {
  return {
    send: (deltas) =>
      Promise.all(
        deltas.map(async ({ userId, pending }) => {
          try {
            // Read before the wait: a tick's text is its holding's, and a later tick moves it.
            const delta = toDelta(pending, 0);
            delta.seq = await sequence.next(userId);
            await emit(userId, delta);
            return delta.seq;
          } catch (err) {
            return asError(err);
          }
        }),
      ),
  };
}

/**
 * For each user (KEYS[i]; ARGV: channel, the message up to the seq, the rest): INCR the seq and
 * PUBLISH the message with the seq spliced in. A key that cannot be incremented (not an integer)
 * costs only its own delta: its outcome is the error's text instead of the seq.
 */
const SEND_DELTAS_LUA = `
local sent = {}
for i = 1, #KEYS do
  local seq = redis.pcall('INCR', KEYS[i])
  if type(seq) == 'number' then
    local a = 3 * i
    redis.call('PUBLISH', ARGV[a - 2], ARGV[a - 1] .. string.format('%d', seq) .. ARGV[a])
    sent[i] = seq
  else
    sent[i] = tostring(seq.err)
  end
end
return sent
`;

/** At most this many deltas per script call, so that one call holds Redis for about a millisecond at most. */
const SCRIPT_BATCH = 256;
/** Users whose seq key, channel and message head are kept; past it the cache starts over. */
const FRAME_CACHE_LIMIT = 50_000;
const SEND_DELTAS_SHA = createHash('sha1').update(SEND_DELTAS_LUA).digest('hex');
/**
 * A new buffer's bytes per delta of its call (it grows when the deltas need more). By the call's
 * size, not a fixed large size: a user whose last delta is still in flight is sent on their own
 * when it lands, so a busy worker makes many calls of one delta.
 */
const BUFFER_BYTES_PER_DELTA = 1536;
/** Buffers kept for the next calls: about as many as are in flight at once, none grown huge. */
const SPARE_BUFFERS = 4;
const SPARE_BUFFER_MAX_BYTES = 4 * 1024 * 1024;

/** A user's seq key, and room channel and message head up to the seq's digits, as RESP bulk strings. */
interface UserFrame {
  seqKey: Buffer;
  channelAndHead: Buffer;
}

/**
 * One Redis call per clock step (up to SCRIPT_BATCH deltas): a Lua script INCRs each user's seq
 * and publishes their message with that seq spliced in, instead of an INCR and a PUBLISH per
 * delta, each with its own command object, promise and reply. The message is exactly what the room
 * emitter would publish (its channel and head are taken from the emitter itself); only a single
 * Redis can run it, not a Cluster. The call is written as RESP bytes here (`RespWriter`): each
 * delta's text is encoded once into the call's buffer and dies young, instead of being held, with
 * ioredis's concatenation of the call and the socket's flat copy of that, until Redis replies.
 */
export function scriptedDeltaSender(redis: Redis, keys: RealtimeKeys): DeltaSender {
  const frameOf = classicRoomFrames(keys.channelPrefix);
  // Per user, what every delta of theirs repeats: encoded once, not per delta on the clock's steps.
  const frames = new Map<string, UserFrame>();
  const frame = (userId: string): UserFrame => {
    let found = frames.get(userId);
    if (found === undefined) {
      if (frames.size >= FRAME_CACHE_LIMIT) frames.clear();
      const room = frameOf(userRoom(userId), 'portfolio:delta');
      found = { seqKey: RespWriter.encode(keys.seq(userId)), channelAndHead: RespWriter.encode(room.channel, `${room.head}{"seq":`) };
      frames.set(userId, found);
    }
    return found;
  };
  // Buffers of calls that have had their reply (Redis read them whole), for the next calls.
  const spare: Buffer[] = [];
  /** The step's EVALSHA call, its deltas written when it is made (a later tick may move their texts). */
  const encode = (chunk: readonly OutgoingDelta[], userFrames: readonly UserFrame[]): RespWriter => {
    const out = new RespWriter(spare.pop() ?? chunk.length * BUFFER_BYTES_PER_DELTA);
    out.array(3 + 4 * chunk.length);
    out.bulk('EVALSHA');
    out.bulk(SEND_DELTAS_SHA);
    out.bulk(String(chunk.length));
    for (const f of userFrames) out.raw(f.seqKey);
    for (let i = 0; i < chunk.length; i++) {
      out.raw(userFrames[i]!.channelAndHead);
      out.beginBulk();
      writeDeltaAfterSeq(chunk[i]!.pending, out);
      out.endBulk();
    }
    return out;
  };
  const evalsha = async (out: RespWriter): Promise<Array<number | string>> => (await redis.sendCommand(new EncodedCommand('evalsha', out.bytes()))) as Array<number | string>;
  const sendChunk = async (chunk: readonly OutgoingDelta[]): Promise<Array<number | Error>> => {
    const out = encode(chunk, chunk.map((d) => frame(d.userId)));
    let sent: Array<number | string>;
    try {
      sent = await evalsha(out);
    } catch (err) {
      // Redis lost its script cache (a restart, SCRIPT FLUSH): load it, and send the same bytes again.
      if (!asError(err).message.startsWith('NOSCRIPT')) throw err;
      await redis.script('LOAD', SEND_DELTAS_LUA);
      sent = await evalsha(out);
    } finally {
      if (spare.length < SPARE_BUFFERS && out.buffer.length <= SPARE_BUFFER_MAX_BYTES) spare.push(out.buffer);
    }
    return sent.map((outcome) => (typeof outcome === 'number' ? outcome : new Error(`delta not numbered: ${outcome}`)));
  };
  return {
    async send(deltas) {
      if (deltas.length <= SCRIPT_BATCH) return sendChunk(deltas);
      const chunks: Promise<Array<number | Error>>[] = [];
      for (let first = 0; first < deltas.length; first += SCRIPT_BATCH) chunks.push(sendChunk(deltas.slice(first, first + SCRIPT_BATCH)));
      return (await Promise.all(chunks)).flat();
    },
  };
}
