import { COMMAND_STRIDE, decodeCommand, encodeCommand } from "./commands.ts";
import { EVENT_STRIDE } from "./events.ts";
import type { Command } from "./protocol.ts";

/**
 * Messages between UBSCore and `bourse matching`, fixed layouts of float64 slots (every value a
 * safe integer):
 *   UBSCore -> matching  HANDOVER count, then per market: marketId, matched, quotePerTickLot,
 *                        slots, book snapshot
 *                        COMMAND  marketId, seq, command (COMMAND_STRIDE slots, commands.ts)
 *   matching -> UBSCore  OUTCOME  marketId, seq, the command's events (EVENT_STRIDE slots each)
 * HANDOVER gives matching the books as of each market's last applied outcome (`matched`); the
 * COMMANDs that follow carry the next sequences, in order.
 */
export enum MatchingMessage {
  Handover = 1,
  Command = 2,
  Outcome = 3,
}

export interface HandoverBook {
  readonly marketId: number;
  /** The sequence of the last command whose outcome the book includes. */
  readonly matched: number;
  /** The market's quote units per (tick x lot), which both sides must agree on. */
  readonly quotePerTickLot: number;
  /** The engine's snapshot layout (`MatchingEngine.snapshot`). */
  readonly snapshot: Uint8Array;
}

export interface SequencedCommand {
  readonly marketId: number;
  readonly seq: number;
  readonly command: Command;
}

export interface Outcome {
  readonly marketId: number;
  readonly seq: number;
  /** The events' bytes (EventBuffer layout). */
  readonly events: Uint8Array;
}

/** The message's slots (copied: a received message may be an unaligned view). */
function slots(message: Uint8Array): Float64Array {
  if (message.byteLength % 8 !== 0) throw new Error("not a matching message");
  return new Float64Array(new Uint8Array(message).buffer);
}

export function messageType(message: Uint8Array): MatchingMessage | undefined {
  if (message.byteLength < 8) return undefined;
  return new DataView(message.buffer, message.byteOffset, 8).getFloat64(0, true) as MatchingMessage;
}

/** A book's slots before its snapshot: marketId, matched, quotePerTickLot, snapshot slots. */
const BOOK_HEADER = 4;

export function encodeHandover(books: readonly HandoverBook[]): Uint8Array {
  const size = 2 + books.reduce((n, b) => n + BOOK_HEADER + b.snapshot.byteLength / 8, 0);
  const out = new Float64Array(size);
  out[0] = MatchingMessage.Handover;
  out[1] = books.length;
  let w = 2;
  for (const b of books) {
    const book = new Float64Array(new Uint8Array(b.snapshot).buffer);
    out.set([b.marketId, b.matched, b.quotePerTickLot, book.length], w);
    out.set(book, w + BOOK_HEADER);
    w += BOOK_HEADER + book.length;
  }
  return new Uint8Array(out.buffer);
}

export function decodeHandover(message: Uint8Array): HandoverBook[] {
  const d = slots(message);
  const books: HandoverBook[] = [];
  let r = 2;
  const count = d[1]!;
  if (!Number.isSafeInteger(count) || count < 0) throw new Error("bad handover");
  for (let i = 0; i < count; i++) {
    const length = d[r + BOOK_HEADER - 1]!;
    if (!Number.isSafeInteger(length) || length < 0 || r + BOOK_HEADER + length > d.length) {
      throw new Error("truncated handover");
    }
    const start = (r + BOOK_HEADER) * 8;
    const snapshot = new Uint8Array(d.buffer.slice(start, start + length * 8));
    books.push({ marketId: d[r]!, matched: d[r + 1]!, quotePerTickLot: d[r + 2]!, snapshot });
    r += BOOK_HEADER + length;
  }
  if (r !== d.length) throw new Error("handover longer than its books");
  return books;
}

export function encodeCommandMessage(c: SequencedCommand): Uint8Array {
  const out = new Float64Array(3 + COMMAND_STRIDE);
  out[0] = MatchingMessage.Command;
  out[1] = c.marketId;
  out[2] = c.seq;
  encodeCommand(c.command, out, 3);
  return new Uint8Array(out.buffer);
}

export function decodeCommandMessage(message: Uint8Array): SequencedCommand {
  const d = slots(message);
  if (d.length !== 3 + COMMAND_STRIDE) throw new Error("bad command message");
  return { marketId: d[1]!, seq: d[2]!, command: decodeCommand(d, 3) };
}

/** An outcome message around `count` events held in `events` (an EventBuffer's data). */
export function encodeOutcome(
  marketId: number,
  seq: number,
  events: Float64Array,
  count: number,
): Uint8Array {
  const out = new Float64Array(3 + count * EVENT_STRIDE);
  out[0] = MatchingMessage.Outcome;
  out[1] = marketId;
  out[2] = seq;
  out.set(events.subarray(0, count * EVENT_STRIDE), 3);
  return new Uint8Array(out.buffer);
}

export function decodeOutcome(message: Uint8Array): Outcome {
  const d = slots(message);
  if ((d.length - 3) % EVENT_STRIDE !== 0) throw new Error("bad outcome message");
  return { marketId: d[1]!, seq: d[2]!, events: new Uint8Array(d.buffer, 24) };
}
