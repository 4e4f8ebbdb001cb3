/**
 * An actor's FIFO of pending messages. Taking a batch does not remove it: the actor removes the
 * messages only once they are committed (or parked), so a failed batch is retried from the same
 * head. Array with a moving head, compacted as it drains: O(1) amortised push and shift.
 */
export class Mailbox<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /**
   * Appends, or inserts at its place when `item` sorts before the tail (a re-claimed entry);
   * an item equal to one already queued is ignored. Returns whether it was queued. The first
   * `pinned` messages (a batch being committed) are never displaced.
   */
  insertOrdered(item: T, compare: (a: T, b: T) => number, pinned = 0): boolean {
    const tail = this.items[this.items.length - 1];
    if (this.size === 0 || compare(tail!, item) < 0) {
      this.items.push(item);
      return true;
    }
    // Rare path (a re-claimed entry): linear.
    for (let i = this.head; i < this.items.length; i++) {
      if (compare(this.items[i]!, item) === 0) return false;
    }
    const floor = Math.min(this.head + pinned, this.items.length);
    let at = this.items.length;
    while (at > floor && compare(this.items[at - 1]!, item) > 0) at--;
    this.items.splice(at, 0, item);
    return true;
  }

  /** Up to `max` messages from the head, without removing them. */
  peek(max: number): T[] {
    return this.items.slice(this.head, this.head + max);
  }

  /** Removes `count` messages from the head. */
  shift(count: number): void {
    this.head = Math.min(this.head + count, this.items.length);
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Drops every message; returns them (the caller decides what becomes of them). */
  clear(): T[] {
    const dropped = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return dropped;
  }
}
