import { parseExact } from "../../domain/src/json.ts";
import type { OrderStatus } from "../../domain/src/orders.ts";
import { readU128, writeU128 } from "../../domain/src/u128.ts";
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
];

// Order: written flag, side, type, tif, stp, status, clientOrderId length, then numbers (safe
// integers as float64), the two bigints (u128) and the client order id (at most 72 chars).
export function writeOrderAt(v: DataView, bytes: Buffer, at: number, o: StoredOrder): void {
  if (o.clientOrderId.length > ORDER_BYTES - 88)
    throw new RangeError(`client order id too long: ${o.orderId}`);
  bytes[at] = WRITTEN;
  v.setUint8(at + 1, o.side);
  v.setUint8(at + 2, o.type);
  v.setUint8(at + 3, o.tif);
  v.setUint8(at + 4, o.stp ?? 0);
  v.setUint8(at + 5, ORDER_STATUSES.indexOf(o.status));
  v.setUint8(at + 6, o.clientOrderId.length);
  v.setUint32(at + 8, o.userId, true);
  v.setUint32(at + 12, o.marketId, true);
  v.setFloat64(at + 16, o.priceTicks, true);
  v.setFloat64(at + 24, o.origQtyLots, true);
  v.setFloat64(at + 32, o.executedLots, true);
  v.setFloat64(at + 40, o.time, true);
  v.setFloat64(at + 48, o.updateTime, true);
  writeU128(v, at + 56, o.cumQuote);
  // Records journaled before orders carried it: a limit order, no quote amount.
  writeU128(v, at + 72, o.quoteOrderUnits ?? 0n);
  bytes.write(o.clientOrderId, at + 88, "latin1");
}

export function readOrderAt(v: DataView, bytes: Buffer, at: number, orderId: number): StoredOrder {
  return {
    orderId,
    userId: v.getUint32(at + 8, true),
    marketId: v.getUint32(at + 12, true),
    clientOrderId: bytes.toString("latin1", at + 88, at + 88 + v.getUint8(at + 6)),
    side: v.getUint8(at + 1),
    type: v.getUint8(at + 2),
    tif: v.getUint8(at + 3),
    priceTicks: v.getFloat64(at + 16, true),
    origQtyLots: v.getFloat64(at + 24, true),
    executedLots: v.getFloat64(at + 32, true),
    cumQuote: readU128(v, at + 56),
    status: ORDER_STATUSES[v.getUint8(at + 5)]!,
    time: v.getFloat64(at + 40, true),
    updateTime: v.getFloat64(at + 48, true),
    quoteOrderUnits: readU128(v, at + 72),
    stp: v.getUint8(at + 4),
  };
}

// Trade: written flag, taker side, market and users, numbers as float64, three u128 amounts.
export function writeTradeAt(v: DataView, at: number, t: StoredTrade): void {
  v.setUint8(at, WRITTEN);
  v.setUint8(at + 1, t.takerSide);
  v.setUint32(at + 4, t.marketId, true);
  v.setUint32(at + 8, t.buyerUserId, true);
  v.setUint32(at + 12, t.sellerUserId, true);
  v.setFloat64(at + 16, t.tradeId, true);
  v.setFloat64(at + 24, t.priceTicks, true);
  v.setFloat64(at + 32, t.qtyLots, true);
  v.setFloat64(at + 40, t.time, true);
  v.setFloat64(at + 48, t.buyerOrderId, true);
  v.setFloat64(at + 56, t.sellerOrderId, true);
  writeU128(v, at + 64, t.quoteUnits);
  writeU128(v, at + 80, t.buyerFee);
  writeU128(v, at + 96, t.sellerFee);
}

export function tradeIdAt(v: DataView, at: number): number {
  return v.getFloat64(at + 16, true);
}

export function readTradeAt(v: DataView, at: number): StoredTrade {
  return {
    tradeId: tradeIdAt(v, at),
    marketId: v.getUint32(at + 4, true),
    priceTicks: v.getFloat64(at + 24, true),
    qtyLots: v.getFloat64(at + 32, true),
    quoteUnits: readU128(v, at + 64),
    time: v.getFloat64(at + 40, true),
    buyerOrderId: v.getFloat64(at + 48, true),
    sellerOrderId: v.getFloat64(at + 56, true),
    buyerUserId: v.getUint32(at + 8, true),
    sellerUserId: v.getUint32(at + 12, true),
    takerSide: v.getUint8(at + 1),
    buyerFee: readU128(v, at + 80),
    sellerFee: readU128(v, at + 96),
  };
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
