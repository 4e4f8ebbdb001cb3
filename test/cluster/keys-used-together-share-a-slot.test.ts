import { describe, expect, it } from 'vitest';
import { hashTagOf, keySlot } from '../../src/runtime/key-slot.ts';
import { streamKeys } from '../../streams/keys.ts';
import { maintenanceKey, snapshotIndexKey, trimmedBelowKey } from '../../streams/snapshots.ts';

/**
 * On a Redis Cluster a script, MULTI or multi-key command must touch keys of one hash slot
 * (else CROSSSLOT). Each group below is the set of keys one such operation touches (docs/KEYS.md
 * names the operation); every key of a group must hash to the group's slot, and partitions must
 * still spread over several slots (a single tag for everything would put all traffic on one
 * master). keySlot is checked against values from the cluster specification.
 */
const keys = streamKeys('fs');
const PARTITIONS = 16;

describe('keys used together', () => {
  it('hash like Redis Cluster does', () => {
    // The specification's CRC16 check value, and tags: only the first non-empty {...} is hashed.
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot('fs:{p3}:events')).toBe(keySlot('p3'));
    expect(hashTagOf('foo{}bar')).toBe('foo{}bar');
    expect(hashTagOf('a{b}{c}')).toBe('b');
  });

  it('share one slot in every script and transaction', () => {
    const groups: Record<string, string[]> = {
      'market lease scripts': [keys.marketLease(), keys.marketFence()],
      'symbol collector script and snapshot MULTI': [keys.userSymbols('u1'), keys.userSymbols('u2'), keys.symbolHolders(), keys.symbolChanges()],
      'price tail XREAD, fenced write script, last-price read': [
        ...Array.from({ length: 8 }, (_, shard) => keys.priceStream(shard)),
        ...Array.from({ length: 8 }, (_, shard) => keys.priceStreamFence(shard)),
        keys.lastPrices(),
        keys.lastPricesFence(),
        keys.previousCloses(),
        keys.previousClosesVersion(),
      ],
    };
    for (let p = 0; p < PARTITIONS; p++) {
      groups[`partition ${p}: webhook append, fenced read/claim, lease, dead letters, snapshots, trim`] = [
        keys.partitionStream(p),
        keys.webhookSeen(p, 'w1'),
        keys.partitionLease(p),
        keys.partitionFence(p),
        keys.deadLetterStream(p),
        keys.deadLetterSettled(p, '1-0'),
        snapshotIndexKey(keys, p),
        maintenanceKey(keys, p),
        trimmedBelowKey(keys, p),
      ];
    }
    const split = Object.entries(groups).filter(([, members]) => new Set(members.map(keySlot)).size !== 1);
    expect(split.map(([name]) => name)).toEqual([]);
  });

  it('spread partitions over several slots', () => {
    const slots = new Set(Array.from({ length: PARTITIONS }, (_, p) => keySlot(keys.partitionStream(p))));
    expect(slots.size).toBe(PARTITIONS);
  });
});
