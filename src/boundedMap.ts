/**
 * A map bounded to about `max` entries, kept in two generations of at most `max / 2`: when the young
 * generation is full it becomes the old one and the old one is dropped; an entry read from the old
 * generation moves to the young one. (Evicting a Map's oldest key one at a time is slow in V8: each
 * deleted entry stays as a hole that every later `keys().next()` walks over.)
 */
export class BoundedMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();

  constructor(private readonly max: number) {}

  get(k: K): V | undefined {
    const v = this.young.get(k);
    if (v !== undefined || this.old.size === 0) return v;
    const aged = this.old.get(k);
    if (aged !== undefined) {
      this.old.delete(k);
      this.set(k, aged);
    }
    return aged;
  }

  set(k: K, v: V): void {
    if (this.young.size >= this.max / 2) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(k, v);
  }

  delete(k: K): void {
    this.young.delete(k);
    this.old.delete(k);
  }
}
