import type { OrderStatus } from "../../domain/src/index.ts";
import { parseExact, recordCodec, recordLayout } from "../../domain/src/index.ts";
import type { HistoryBatch, StoredOrder, StoredTrade } from "./port.ts";

/**
 * Orders and trades in fixed binary layouts: the embedded store's slots, and history batches as
 * the store's journal, settlement's queue and its feed carry them. A batch is
 *   u8 format (2) | 3 bytes zero | u32 orders | u32 trades | u32 zero
 *   then per order: f64 order id | ORDER_BYTES; per trade: TRADE_BYTES.
 * Batches written before were UTF-8 JSON (first byte `{`) and are still read. JSON with bigints
 * tagged cost ~4% of an order's time to write twice (queue and store), and as much to read.
 */
export const ORDER_BYTES = 160;
export const TRADE_BYTES = 128;
/** The first byte of a slot that holds a record (slots never written read as zeros). */
export const WRITTEN = 1;

const FORMAT = 2;
const HEADER = 16;
/** Every order status, in the order of their codes in a slot. */
export const ORDER_STATUSES: readonly OrderStatus[] = [
  "NEW",
  "PARTIALLY_FILLED",
  "FILLED",
  "CANCELED",
  "REJECTED",
  "EXPIRED",
  "EXPIRED_IN_MATCH",
  "PENDING_NEW",
];

/**
 * An order slot: the written flag, the order's small fields, numbers as float64 (safe integers),
 * the two bigints as u128, then the client order id (latin1, at most 72 chars) from `end`.
 */
const ORDER = recordLayout(ORDER_BYTES, [
  [1], // WRITTEN
  ["side", "u8"],
  ["type", "u8"],
  ["tif", "u8"],
  ["stp", "u8"],
  ["status", "u8"],
  ["clientOrderIdLength", "u8"],
  [1],
  ["userId", "u32"],
  ["marketId", "u32"],
  ["priceTicks", "f64"],
  ["origQtyLots", "f64"],
  ["executedLots", "f64"],
  ["time", "f64"],
  ["updateTime", "f64"],
  ["cumQuote", "u128"],
  ["quoteOrderUnits", "u128"],
]);
const orderCodec = recordCodec(ORDER);
const CLIENT_ORDER_ID_MAX = ORDER_BYTES - ORDER.end;

/** A trade slot: the written flag, the taker's side, market and users, float64s, three u128s. */
const TRADE = recordLayout(TRADE_BYTES, [
  [1], // WRITTEN
  ["takerSide", "u8"],
  [2],
  ["marketId", "u32"],
  ["buyerUserId", "u32"],
  ["sellerUserId", "u32"],
  ["tradeId", "f64"],
  ["priceTicks", "f64"],
  ["qtyLots", "f64"],
  ["time", "f64"],
  ["buyerOrderId", "f64"],
  ["sellerOrderId", "f64"],
  ["quoteUnits", "u128"],
  ["buyerFee", "u128"],
  ["sellerFee", "u128"],
]);
const tradeCodec = recordCodec(TRADE);

export function writeOrderAt(v: DataView, bytes: Buffer, at: number, o: StoredOrder): void {
  if (o.clientOrderId.length > CLIENT_ORDER_ID_MAX)
    throw new RangeError(`client order id too long: ${o.orderId}`);
  bytes[at] = WRITTEN;
  // The slot's fields named one by one: `{ ...o, status: <its code> }` re-typed a string field as
  // a number, which V8 took 3 - 6 µs a copy to do (twice per order: settlement's queue, the store).
  orderCodec.write(
    {
      side: o.side,
      type: o.type,
      tif: o.tif,
      stp: o.stp ?? 0,
      status: ORDER_STATUSES.indexOf(o.status),
      clientOrderIdLength: o.clientOrderId.length,
      userId: o.userId,
      marketId: o.marketId,
      priceTicks: o.priceTicks,
      origQtyLots: o.origQtyLots,
      executedLots: o.executedLots,
      time: o.time,
      updateTime: o.updateTime,
      cumQuote: o.cumQuote,
      // Records journaled before orders carried it: a limit order, no quote amount.
      quoteOrderUnits: o.quoteOrderUnits ?? 0n,
    },
    v,
    at,
  );
  bytes.write(o.clientOrderId, at + ORDER.end, "latin1");
}

export function readOrderAt(v: DataView, bytes: Buffer, at: number, orderId: number): StoredOrder {
  const { clientOrderIdLength, status, ...fields } = orderCodec.read(v, at);
  const clientOrderId = bytes.toString("latin1", at + ORDER.end, at + ORDER.end + clientOrderIdLength);
  return { orderId, clientOrderId, ...fields, status: ORDER_STATUSES[status]! };
}

export function writeTradeAt(v: DataView, at: number, t: StoredTrade): void {
  v.setUint8(at, WRITTEN);
  tradeCodec.write(t, v, at);
}

export function tradeIdAt(v: DataView, at: number): number {
  return v.getFloat64(at + TRADE.at.tradeId, true);
}

export function readTradeAt(v: DataView, at: number): StoredTrade {
  return tradeCodec.read(v, at);
}

/** The encoded size of a batch (for callers that place it inside a larger record). */
export function historyBytes(batch: HistoryBatch): number {
  return HEADER + batch.orders.length * (8 + ORDER_BYTES) + batch.trades.length * TRADE_BYTES;
}

/** Writes `batch` at `at` of `bytes` (historyBytes(batch) of room, zeroed). */
export function writeHistoryAt(bytes: Buffer, at: number, batch: HistoryBatch): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint8(at, FORMAT);
  v.setUint32(at + 4, batch.orders.length, true);
  v.setUint32(at + 8, batch.trades.length, true);
  let p = at + HEADER;
  for (const o of batch.orders) {
    v.setFloat64(p, o.orderId, true);
    writeOrderAt(v, bytes, p + 8, o);
    p += 8 + ORDER_BYTES;
  }
  for (const t of batch.trades) {
    writeTradeAt(v, p, t);
    p += TRADE_BYTES;
  }
}

export function encodeHistory(batch: HistoryBatch): Buffer {
  const bytes = Buffer.alloc(historyBytes(batch));
  writeHistoryAt(bytes, 0, batch);
  return bytes;
}

export function decodeHistory(encoded: Uint8Array): HistoryBatch {
  const bytes = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  if (bytes[0] !== FORMAT) return parseExact<HistoryBatch>(bytes.toString("utf8"));
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const orders: StoredOrder[] = new Array(v.getUint32(4, true));
  const trades: StoredTrade[] = new Array(v.getUint32(8, true));
  let p = HEADER;
  for (let i = 0; i < orders.length; i++) {
    orders[i] = readOrderAt(v, bytes, p + 8, v.getFloat64(p, true));
    p += 8 + ORDER_BYTES;
  }
  for (let i = 0; i < trades.length; i++) {
    trades[i] = readTradeAt(v, p);
    p += TRADE_BYTES;
  }
  return { orders, trades };
}
