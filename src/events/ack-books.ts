/** Generations whose ACKs are kept: the newest ACK_BOOKS. */
export const ACK_BOOKS = 64;

/** One stream's first ACK of a response tagged with a generation. */
export interface AckEntry {
  readonly streamId: string;
  readonly nodeId: string;
  /** Clock ms. */
  readonly at: number;
  /** The stream's initial load (its first ACK of the type), not a push it waited for. */
  readonly initial: boolean;
}

export interface AckBook {
  /** Clock ms of the generation's first push (or canary), when seen. */
  pushedAt: number | undefined;
  /** By stream id, in ACK order. */
  readonly acks: Map<string, AckEntry>;
}

/**
 * Per generation, the first ACK of each stream, for the newest ACK_BOOKS
 * generations (by id): older books are dropped as newer ones open, so memory
 * is bounded by ACK_BOOKS × connected streams.
 */
export class AckBooks {
  private readonly books = new Map<number, AckBook>();
  private newest = 0;

  /** The book of `generation`; undefined when none was opened or it is expired. */
  get(generation: number): AckBook | undefined {
    return this.books.get(generation);
  }

  /** True when `generation` is too old for its book to be kept. */
  expired(generation: number): boolean {
    return generation <= this.newest - ACK_BOOKS;
  }

  /** The generation was pushed (or put in canary) at `at`; the first time counts. */
  pushed(generation: number, at: number): void {
    const book = this.open(generation);
    if (book && book.pushedAt === undefined) book.pushedAt = at;
  }

  /** Records an ACK; true when it is the stream's first of this generation. */
  ack(generation: number, entry: AckEntry): boolean {
    const book = this.open(generation);
    if (!book || book.acks.has(entry.streamId)) return false;
    book.acks.set(entry.streamId, entry);
    return true;
  }

  private open(generation: number): AckBook | undefined {
    if (this.expired(generation)) return undefined;
    let book = this.books.get(generation);
    if (book) return book;
    this.books.set(generation, (book = { pushedAt: undefined, acks: new Map() }));
    if (generation > this.newest) {
      this.newest = generation;
      for (const id of [...this.books.keys()]) if (this.expired(id)) this.books.delete(id);
    }
    return book;
  }
}
