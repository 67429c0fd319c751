/** How far back `count` looks: one hour. */
export const NACK_WINDOW_MS = 60 * 60 * 1000;
const BUCKET_MS = 1000;
const BUCKETS = NACK_WINDOW_MS / BUCKET_MS;

/**
 * NACKs of the last hour, counted in one-second buckets: memory stays at
 * 3,600 counters however fast clients NACK.
 */
export class NackWindow {
  /** Bucket index → [second it counts, NACKs in it]. */
  private readonly buckets: [number, number][] = [];

  add(at: number): void {
    const second = Math.floor(at / BUCKET_MS);
    const slot = second % BUCKETS;
    const bucket = this.buckets[slot];
    if (bucket && bucket[0] === second) bucket[1]++;
    else this.buckets[slot] = [second, 1];
  }

  /** NACKs within the hour before `now`. */
  count(now: number): number {
    const newest = Math.floor(now / BUCKET_MS);
    let n = 0;
    for (const bucket of this.buckets) if (bucket && bucket[0] > newest - BUCKETS && bucket[0] <= newest) n += bucket[1];
    return n;
  }
}
