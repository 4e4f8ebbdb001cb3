import {
  emptyProjection,
  project,
  settle,
  type PortfolioProjection,
  type ProjectionFacts,
} from '../../actors/portfolio/portfolio-projection.ts';
import { decodeEnvelope, ENVELOPE_FIELD } from '../../streams/envelope.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';

/**
 * The fold of a partition stream's entries into many users' projections, an entry at a time as
 * XRANGE returns them (the id and the field list, as Buffers or as strings), with the actor's pure
 * `project`. What every partition-wide fold shares: `rebuildPartition` (every user met, to the
 * end), `foldUsers` (named users, each up to their own stream id: snapshots and the dry run of
 * many users), and `npm run bench:replay`, which times it apart from the reading.
 *
 * An entry is skipped when it has no envelope field, when its envelope does not decode (the live
 * runtime parked it), when it is a snapshot, when its user's state already covers it, and (with
 * `limits`) when it is not about a named user or lies after that user's limit. An event `project`
 * refuses is skipped too (a poison event: the live actor parked it).
 */
export interface PartitionFoldOptions {
  /**
   * Fold only these users, each up to this stream id (inclusive). Without it, every user met is
   * folded to the end (a user met for the first time starts from an empty projection).
   */
  limits?: ReadonlyMap<string, string>;
  /** Facts the fold needs that no event carries, per user (see `ProjectionFacts`). */
  factsOf?: (user: string) => ProjectionFacts;
}

type Field = Buffer | string;

/** `e` as the one byte a Buffer field name holds. */
const ENVELOPE_BYTE = ENVELOPE_FIELD.charCodeAt(0);

/** The envelope's text among an entry's fields (name, value, name, value...), if it has one. */
function envelopeText(fields: readonly Field[]): Field | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    if (typeof name === 'string' ? name === ENVELOPE_FIELD : name.length === 1 && name[0] === ENVELOPE_BYTE) return fields[i + 1];
  }
  return undefined;
}

export class PartitionFold {
  /** Stream entries seen. */
  entriesRead = 0;
  /** Events folded into a projection. */
  eventsFolded = 0;
  private readonly limits: ReadonlyMap<string, string> | undefined;
  private readonly factsOf: (user: string) => ProjectionFacts;

  /**
   * @param states the projections to fold into (restored from snapshots, or empty); the fold
   *   adds every user it meets unless `options.limits` names the users.
   */
  constructor(
    readonly states: Map<string, PortfolioProjection>,
    options: PartitionFoldOptions = {},
  ) {
    this.limits = options.limits;
    this.factsOf = options.factsOf ?? (() => ({}));
  }

  /**
   * Folds one entry. Returns the user the entry is about when its envelope decodes and it is not
   * a snapshot (whether it was folded or skipped), else null.
   */
  entry(id: Field, fields: readonly Field[]): string | null {
    this.entriesRead++;
    const source = envelopeText(fields);
    if (source === undefined || source.length === 0) return null;
    let envelope;
    try {
      envelope = decodeEnvelope(source.toString());
    } catch {
      return null;
    }
    if (envelope.type === 'snapshot') return null;
    const user = envelope.user;
    const streamId = id.toString();
    let state = this.states.get(user);
    if (this.limits) {
      const limit = this.limits.get(user);
      if (!state || limit === undefined || compareStreamIds(streamId, limit) > 0) return user;
    } else if (!state) {
      state = emptyProjection(user);
      this.states.set(user, state);
    }
    if (state.lastStreamId !== null && compareStreamIds(streamId, state.lastStreamId) <= 0) return user;
    try {
      // The entry's own text goes with it: a sync result is kept as that text until `settle`.
      project(state, envelope, streamId, this.factsOf(user), source);
      this.eventsFolded++;
    } catch {
      // A poison event: the live actor parked it, the fold passes it too.
    }
    return user;
  }

  /** Folds a page of entries, in order. */
  page(entries: readonly (readonly [Field, readonly Field[]])[]): void {
    for (const [id, fields] of entries) this.entry(id, fields);
  }

  /** Settles every projection (normalizes the sync results that decide each account) and returns them. */
  finish(): Map<string, PortfolioProjection> {
    for (const state of this.states.values()) settle(state);
    return this.states;
  }
}
