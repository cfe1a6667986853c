/**
 * Decoded frame tensors of recently read segments, bounded by bytes (least recently used first out).
 * Search reads its 100 candidates' tensors on every query; most of the time that took was the database
 * reading and returning those BYTEA columns (docs/benchmarks.md). A segment's tensors for one model version
 * never change (the encoder is deterministic, a re-index writes the same values, and this process's own
 * writes evict the entry), and ids are UUIDs that the tenant-scoped candidate query hands out, so the cache
 * needs no tenant key and serves nothing a query did not find.
 */
export interface FrameTensors {
  frameTokens: Float32Array;
  frameWeights: Float32Array;
  frameMask: Float32Array;
}

export class FrameCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, FrameTensors & { bytes: number }>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  /** `maxBytes` 0 disables the cache. */
  constructor(maxBytes: number) {
    this.#maxBytes = Math.max(0, maxBytes);
  }

  get enabled(): boolean {
    return this.#maxBytes > 0;
  }

  /** Bytes held, entries, hits and misses since start (for health details and benchmarks). */
  get stats(): { bytes: number; entries: number; hits: number; misses: number } {
    return { bytes: this.#bytes, entries: this.#entries.size, hits: this.#hits, misses: this.#misses };
  }

  get(key: string): FrameTensors | undefined {
    const entry = this.#entries.get(key);
    if (!entry) {
      this.#misses += 1;
      return undefined;
    }
    this.#hits += 1;
    // Most recently used last.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  set(key: string, tensors: FrameTensors): void {
    if (!this.enabled) return;
    const bytes =
      tensors.frameTokens.byteLength + tensors.frameWeights.byteLength + tensors.frameMask.byteLength;
    if (bytes > this.#maxBytes) return;
    this.delete(key);
    this.#entries.set(key, { ...tensors, bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}
