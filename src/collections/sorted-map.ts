import btreeModule from "sorted-btree";
import diffModule from "sorted-btree/extended/diffAgainst.js";

// CommonJS modules with an ES `default` export: under Node's ESM loader the default import is module.exports.
const Tree = btreeModule.default;
const diffAgainst = diffModule.default;
type BTree<K, V> = InstanceType<typeof Tree<K, V>>;

/** What `SortedMap.diff` reports, each call once per key that differs. */
export interface DiffHandlers<V> {
  /** The key is in the newer map only. */
  added?(key: string, value: V): void;
  /** The key is in the older map only. */
  removed?(key: string, value: V): void;
  /** The key is in both, with values that are not `===`. */
  changed?(key: string, before: V, after: V): void;
}

/** Code-unit order, the same on every machine and locale (what BTree's default comparator does for strings). */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * An immutable map from string keys, iterating in key (code-unit) order,
 * whose updates share structure with the map they came from: `with` costs
 * O(k log n) for k changes, whatever the size n, and `diff` between two maps
 * derived from one another costs in proportion to what differs, not to n.
 * The registry's view and the snapshots are made of these, so a change's
 * cost follows the change (issue 15). Backed by a copy-on-write B+ tree
 * (sorted-btree); the tree is never handed out, so no caller can change a
 * map once made.
 */
export class SortedMap<V> implements ReadonlyMap<string, V> {
  readonly #tree: BTree<string, V>;

  private constructor(tree: BTree<string, V>) {
    this.#tree = tree;
    Object.freeze(this);
  }

  static empty<V>(): SortedMap<V> {
    return new SortedMap(new Tree<string, V>(undefined, compareKeys));
  }

  /** A map of `entries` (in any order; a later duplicate key wins). */
  static of<V>(entries: Iterable<readonly [string, V]>): SortedMap<V> {
    const tree = new Tree<string, V>(undefined, compareKeys);
    for (const [key, value] of entries) tree.set(key, value);
    return new SortedMap(tree);
  }

  /** `map` itself when it is a SortedMap, else a SortedMap of its entries. */
  static from<V>(map: ReadonlyMap<string, V>): SortedMap<V> {
    return map instanceof SortedMap ? (map as SortedMap<V>) : SortedMap.of(map);
  }

  get size(): number {
    return this.#tree.size;
  }

  get(key: string): V | undefined {
    return this.#tree.get(key);
  }

  has(key: string): boolean {
    return this.#tree.has(key);
  }

  /**
   * A new map with `changes` applied in order: a value sets its key, `undefined`
   * deletes it. This map is unchanged. Returns this map when nothing changes.
   */
  with(changes: Iterable<readonly [string, V | undefined]>): SortedMap<V> {
    let tree: BTree<string, V> | undefined;
    for (const [key, value] of changes) {
      const current = tree ?? this.#tree;
      if (value === undefined ? !current.has(key) : current.get(key) === value && current.has(key)) continue;
      tree ??= this.#tree.clone();
      if (value === undefined) tree.delete(key);
      else tree.set(key, value);
    }
    return tree ? new SortedMap(tree) : this;
  }

  set(key: string, value: V): SortedMap<V> {
    return this.with([[key, value]]);
  }

  delete(key: string): SortedMap<V> {
    return this.with([[key, undefined]]);
  }

  /** Entries with keys ≥ `key` (> `key` when `exclusive`), in order: a page starts here. */
  *entriesFrom(key: string, exclusive = false): IterableIterator<[string, V]> {
    for (const entry of this.#tree.entries(key)) {
      if (exclusive && entry[0] === key) continue;
      yield entry;
    }
  }

  /**
   * Calls `handlers` for every key whose value differs between `before` and
   * this map (`===`), in key order within each kind. Subtrees the two share
   * are skipped, so for maps derived from one another with `with` the cost
   * follows the number of changes.
   */
  diffFrom(before: SortedMap<V>, handlers: DiffHandlers<V>): void {
    if (before === this) return;
    diffAgainst<string, V, never>(
      this.#tree,
      before.#tree,
      (key, value) => void handlers.added?.(key, value),
      (key, value) => void handlers.removed?.(key, value),
      (key, after, was) => {
        if (after !== was) handlers.changed?.(key, was, after);
      },
    );
  }

  forEach(onEntry: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.#tree.entries()) onEntry.call(thisArg, value, key, this);
  }

  entries(): MapIterator<[string, V]> {
    return toMapIterator(this.#tree.entries());
  }

  keys(): MapIterator<string> {
    return toMapIterator(this.#tree.keys());
  }

  values(): MapIterator<V> {
    return toMapIterator(this.#tree.values());
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
}

/** BTree's iterators are plain iterators; ReadonlyMap promises MapIterators (iterable, with the iterator helpers' shape). */
function toMapIterator<T>(iterator: Iterator<T>): MapIterator<T> {
  return (function* () {
    for (let next = iterator.next(); !next.done; next = iterator.next()) yield next.value;
    return undefined;
  })() as MapIterator<T>;
}
