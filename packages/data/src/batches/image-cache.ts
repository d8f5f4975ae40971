/**
 * Decoded images kept in memory (as bytes, a quarter of float32) up to a byte budget, so epochs
 * after the first do not decode again when the dataset fits. Entries are never evicted: once the
 * budget is reached, further images are simply decoded each time.
 */
export class ImageCache {
  private readonly entries = new Map<string, Uint8Array>();
  private used = 0;

  constructor(readonly budgetBytes: number) {}

  get(key: string): Uint8Array | undefined {
    return this.entries.get(key);
  }

  set(key: string, bytes: Uint8Array): void {
    if (this.entries.has(key) || this.used + bytes.byteLength > this.budgetBytes) return;
    this.entries.set(key, bytes);
    this.used += bytes.byteLength;
  }

  get bytes(): number {
    return this.used;
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }
}
