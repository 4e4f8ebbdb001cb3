import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignPartitions } from '../../actors/rebalancer.ts';

function owners(assignment: Map<string, number[]>, partitionCount: number): string[] {
  const out: string[] = Array(partitionCount).fill('');
  for (const [worker, partitions] of assignment) for (const p of partitions) out[p] = worker;
  return out;
}

describe('assignPartitions', () => {
  it('gives every partition to exactly one live worker, evenly (counts differ by at most one)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 256 }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 20 }),
        (partitionCount, workers) => {
          const assignment = assignPartitions(partitionCount, workers);
          const all = [...assignment.values()].flat().sort((a, b) => a - b);
          expect(all).toEqual(Array.from({ length: partitionCount }, (_, p) => p));
          const counts = [...assignment.values()].map((ps) => ps.length);
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
          expect([...assignment.keys()].sort()).toEqual([...new Set(workers)].sort());
        },
      ),
    );
  });

  it('is the same whatever order the workers are listed in (every worker computes it alone)', () => {
    const a = assignPartitions(16, ['w-1', 'w-2', 'w-3']);
    const b = assignPartitions(16, ['w-3', 'w-1', 'w-2', 'w-1']);
    expect(owners(b, 16)).toEqual(owners(a, 16));
  });

  it('moves few partitions when a worker joins or leaves', () => {
    const three = owners(assignPartitions(16, ['w-1', 'w-2', 'w-3']), 16);
    const four = owners(assignPartitions(16, ['w-1', 'w-2', 'w-3', 'w-4']), 16);
    const moved = three.filter((w, p) => four[p] !== w).length;
    // The newcomer takes its 4; a round-robin split would move 12 of the 16.
    expect(moved).toBeLessThanOrEqual(6);
    const two = owners(assignPartitions(16, ['w-1', 'w-3']), 16);
    // Only the partitions of the worker that left, plus what evening out needs, move.
    expect(three.filter((w, p) => w !== 'w-2' && two[p] !== w).length).toBeLessThanOrEqual(2);
  });

  it('assigns nothing when no worker is alive', () => {
    expect(assignPartitions(16, []).size).toBe(0);
  });
});
