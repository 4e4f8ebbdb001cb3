import { createHash } from 'node:crypto';

/** The SHA-256 (hex) of a user id: how a deleted user is remembered, without the id itself. */
export function userHash(userId: string): string {
  return createHash('sha256').update(userId, 'utf8').digest('hex');
}
