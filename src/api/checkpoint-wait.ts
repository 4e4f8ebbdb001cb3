import type { Knex } from '../db/knex.ts';
import { compareStreamIds } from '../../streams/stream-id.ts';

/** Waits until the user's actor has applied `streamId` (its checkpoint reached it). */
export async function waitForCheckpoint(db: Knex, userId: string, streamId: string, budgetMs: number): Promise<boolean> {
  const deadline = Date.now() + Math.max(0, budgetMs);
  for (;;) {
    const row = await db('actor_checkpoints').where({ user_id: userId }).first('last_stream_id');
    if (row && compareStreamIds(row.last_stream_id, streamId) >= 0) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
