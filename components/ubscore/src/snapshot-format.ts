import { fail, parseExact, stringifyExact } from "../../domain/src/index.ts";
import type { Candle } from "./candles.ts";
import type { OrderCounts } from "./order-counts.ts";
import type { Balance, OrderList, OrderRecord, TradeRecord, Withdrawal } from "./types.ts";

/**
 * UBSCore's snapshot format, in one place: a header line (tagged JSON, the engines' own binary
 * snapshots inside), then one line per record (order, order list, deposit, signature, trade,
 * candle). Line by line, because one JSON document of a busy exchange's history outgrows the
 * longest string V8 can build (a soak run crashed there after about a million orders).
 *
 * Versions: 1 was one JSON document with everything inside; 2 the header and record lines; 3
 * added candles (before, they are folded from the trades); 4 signatures (before, gateways kept
 * them); 5 order lists; 6 OTO lists (contingencyType OTO, pending orders PENDING_NEW, which
 * reserve nothing and are not in the books; a version 5 snapshot has none of them). Fields added since within a version are optional: a snapshot without
 * them restores as the code before them left the state.
 */
export const SNAPSHOT_VERSION = 6;

/** A market's book when the books run in `bourse matching`: the counters and the commands in flight. */
export interface RemoteBookState {
  readonly forwarded: number;
  readonly matched: number;
  readonly lastTradeId: number;
  readonly lastSeq: number;
  /** [seq, time, ...the command's slots, rename?] of each forwarded command waiting for its outcome. */
  readonly pending: (number | string)[][];
}

export interface SnapshotHeader {
  readonly version: number;
  readonly retention?: { readonly closedOrders: number; readonly tradesPerMarket: number };
  /** Closed orders still held, oldest closed first (absent before version 2). */
  readonly closed?: number[];
  readonly forgotten?: { orders: number; trades: number[] };
  readonly users: number[];
  readonly balances: [number, Balance[]][];
  readonly fees: bigint[];
  readonly netInflow?: bigint[];
  readonly matching?: "local" | "remote";
  /** Local books: each market's engine snapshot (base64), in market order. */
  readonly engines: string[];
  /** Books in `bourse matching`: each market's, in market order. */
  readonly remote: RemoteBookState[];
  readonly halted: number[];
  readonly withdrawals: Withdrawal[];
  readonly appliedTransfers: number[];
  readonly signatureHorizon?: number;
  readonly listenKeys?: [string, number, number][];
  readonly orderCounts?: ReturnType<OrderCounts["entries"]>;
  readonly preventedMatchIds?: (number | null)[];
  readonly nextOrderId: number;
  readonly nextOrderListId?: number;
  readonly now: number;
}

/** The records of a snapshot, beside its header. */
export interface SnapshotRecords {
  readonly orders: OrderRecord[];
  readonly lists: OrderList[];
  /** Deposit id -> [userId, assetId, amount]. */
  readonly deposits: [string, [number, number, bigint]][];
  /** Signature (base64) -> the end of its request's window. */
  readonly signatures: [string, number][];
  /** Per market id (sparse). */
  readonly trades: TradeRecord[][];
  /** Per market id (sparse); absent before version 3 (folded from the trades then). */
  readonly candles?: Candle[][];
}

export type SnapshotState = SnapshotHeader & SnapshotRecords;

type RecordLine =
  | ["o", OrderRecord]
  | ["l", OrderList]
  | ["d", string, number, number, bigint]
  | ["s", string, number]
  | ["t", number, TradeRecord]
  | ["k", number, Candle];

/** The snapshot as chunks, records serialized a thousand at a time: never one string of them all. */
export function* snapshotChunks(header: SnapshotHeader, records: SnapshotRecords): Generator<Buffer> {
  yield Buffer.from(`${stringifyExact(header)}\n`);
  yield* recordChunks(records.lists, (l) => ["l", l]);
  yield* recordChunks(records.orders, (o) => ["o", o]);
  yield* recordChunks(records.deposits, ([id, terms]) => ["d", id, ...terms]);
  yield* recordChunks(records.signatures, (entry) => ["s", ...entry]);
  for (const [marketId, list] of records.trades.entries())
    yield* recordChunks(list ?? [], (r) => ["t", marketId, r]);
  for (const [marketId, list] of (records.candles ?? []).entries())
    yield* recordChunks(list ?? [], (r) => ["k", marketId, r]);
}

/** Reads a snapshot of any version; a version it does not know, or a torn record, is CORRUPT_JOURNAL. */
export function readSnapshot(bytes: Uint8Array): SnapshotState {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Version 1 is one JSON document (no line break); later ones a header line, then records.
  if (buffer[0] === 0x7b && buffer.indexOf(0x0a) < 0) {
    const state = parseExact<SnapshotState>(buffer.toString("utf8"));
    checkVersion(state.version, 1);
    return {
      ...state,
      lists: state.lists ?? [],
      deposits: state.deposits ?? [],
      signatures: state.signatures ?? [],
      trades: state.trades ?? [],
    };
  }
  let end = buffer.indexOf(0x0a);
  const header = parseExact<SnapshotHeader>(buffer.toString("utf8", 0, end));
  checkVersion(header.version, 2);
  const records = {
    orders: [] as OrderRecord[],
    lists: [] as OrderList[],
    deposits: [] as [string, [number, number, bigint]][],
    signatures: [] as [string, number][],
    trades: [] as TradeRecord[][],
    candles: undefined as Candle[][] | undefined,
  };
  for (let start = end + 1; start < buffer.length; start = end + 1) {
    end = buffer.indexOf(0x0a, start);
    if (end < 0) fail("CORRUPT_JOURNAL", "UBSCore snapshot ends inside a record");
    const record = parseExact<RecordLine>(buffer.toString("utf8", start, end));
    switch (record[0]) {
      case "o":
        records.orders.push(record[1]);
        break;
      case "l":
        records.lists.push(record[1]);
        break;
      case "s":
        records.signatures.push([record[1], record[2]]);
        break;
      case "d":
        records.deposits.push([record[1], [record[2], record[3], record[4]]]);
        break;
      case "t":
        append(records.trades, record[1], record[2]);
        break;
      case "k":
        records.candles ??= [];
        append(records.candles, record[1], record[2]);
        break;
      default:
        fail("CORRUPT_JOURNAL", `unknown UBSCore snapshot record ${JSON.stringify(record[0])}`);
    }
  }
  return { ...header, ...records };
}

/** Adds `item` to the list of market `marketId` in a sparse array of lists. */
function append<T>(lists: T[][], marketId: number, item: T): void {
  const list = lists[marketId];
  if (list) list.push(item);
  else lists[marketId] = [item];
}

function checkVersion(version: number, lowest: number): void {
  if (!(version >= lowest && version <= SNAPSHOT_VERSION))
    fail("CORRUPT_JOURNAL", `unknown UBSCore snapshot version ${version}`);
}

function* recordChunks<T>(items: readonly T[], record: (item: T) => unknown[]): Generator<Buffer> {
  for (let i = 0; i < items.length; i += 1_000) {
    yield Buffer.from(
      items
        .slice(i, i + 1_000)
        .map((item) => `${stringifyExact(record(item))}\n`)
        .join(""),
    );
  }
}
