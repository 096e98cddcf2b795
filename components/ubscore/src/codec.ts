import { fail, parseExact, readU128, writeU128 } from "../../domain/src/index.ts";
import type { UbsCommand } from "./types.ts";

/**
 * The binary layout of UBSCore commands: the journal record and the message between processes.
 * A version byte, a kind byte, then the kind's fields in a fixed order, little-endian: ids, ticks,
 * lots and milliseconds as 8-byte IEEE doubles (exact for every safe integer; the core rejects
 * any other value, so a bad one is journaled as given and rejected the same way on replay), u8
 * for enums, u128 (two u64) for money, u16-length UTF-8 for strings, u32-length bytes, a presence byte before
 * optional fields. Version 1 records (JSON, written by
 * earlier releases) are still read, so an existing journal replays after an upgrade.
 */
const JSON_V1 = 1;
const BINARY_V2 = 2;

type FieldType = "u53" | "u8" | "amount" | "str" | "optU53" | "optStr" | "bytes" | "optBytes";
type Kind = UbsCommand["kind"];

/**
 * The signed request a command came from (types.ts, SignedOnce): optional fields appended to
 * their kinds' layouts. A record that ends before an optional field was written without it
 * (by a release before the field existed).
 */
const SIGNED_ONCE: [string, FieldType][] = [
  ["signature", "optBytes"],
  ["validUntil", "optU53"],
];

/** Field order per kind; the index of a kind in this table is its code: append, never reorder. */
const LAYOUTS: [Kind, [string, FieldType][]][] = [
  ["createUser", [["userId", "u53"]]],
  [
    "credit",
    [
      ["userId", "u53"],
      ["asset", "str"],
      ["amount", "amount"],
      // Appended: records written before it end here (see the decoder).
      ["depositId", "optStr"],
    ],
  ],
  [
    "debit",
    [
      ["userId", "u53"],
      ["asset", "str"],
      ["amount", "amount"],
    ],
  ],
  [
    "holdWithdrawal",
    [
      ["withdrawalId", "str"],
      ["userId", "u53"],
      ["asset", "str"],
      ["amount", "amount"],
    ],
  ],
  ["completeWithdrawal", [["withdrawalId", "str"]]],
  ["cancelWithdrawal", [["withdrawalId", "str"]]],
  [
    "transferIn",
    [
      ["transferSeq", "u53"],
      ["userId", "u53"],
      ["asset", "str"],
      ["amount", "amount"],
    ],
  ],
  [
    "transferOut",
    [
      ["transferSeq", "u53"],
      ["userId", "u53"],
      ["asset", "str"],
      ["amount", "amount"],
    ],
  ],
  [
    "place",
    [
      ["userId", "u53"],
      ["symbol", "str"],
      ["clientOrderId", "str"],
      ["side", "u8"],
      ["type", "u8"],
      ["tif", "u8"],
      ["priceTicks", "u53"],
      ["qtyLots", "u53"],
      ["quoteUnits", "amount"],
      ["stp", "u8"],
      ["time", "u53"],
      ...SIGNED_ONCE,
      // Appended: records written before triggered orders end before it.
      ["stopPriceTicks", "optU53"],
    ],
  ],
  [
    "cancel",
    [
      ["userId", "u53"],
      ["symbol", "str"],
      ["orderId", "optU53"],
      ["clientOrderId", "optStr"],
      ["time", "u53"],
      ...SIGNED_ONCE,
    ],
  ],
  ["cancelAll", [["userId", "u53"], ["symbol", "str"], ["time", "u53"], ...SIGNED_ONCE]],
  ["halt", [["symbol", "str"]]],
  ["resume", [["symbol", "str"]]],
  [
    "matched",
    [
      ["marketId", "u53"],
      ["seq", "u53"],
      ["events", "bytes"],
    ],
  ],
  ["addUser", []],
  [
    "listenKey",
    [
      ["op", "u8"],
      ["userId", "u53"],
      ["key", "str"],
      ["time", "u53"],
      ["ttlMs", "u53"],
      ["maxPerUser", "u53"],
    ],
  ],
  ["takeSignature", [["userId", "u53"], ["time", "u53"], ...SIGNED_ONCE]],
  [
    "amend",
    [
      ["userId", "u53"],
      ["symbol", "str"],
      ["orderId", "optU53"],
      ["clientOrderId", "optStr"],
      ["newClientOrderId", "str"],
      ["newQtyLots", "u53"],
      ["time", "u53"],
      ...SIGNED_ONCE,
    ],
  ],
  [
    "placeOco",
    [
      ["userId", "u53"],
      ["symbol", "str"],
      ["listClientOrderId", "str"],
      ["side", "u8"],
      ["qtyLots", "u53"],
      ["stp", "u8"],
      ["time", "u53"],
      ["aboveClientOrderId", "str"],
      ["aboveType", "u8"],
      ["aboveTif", "u8"],
      ["abovePriceTicks", "u53"],
      ["aboveStopPriceTicks", "u53"],
      ["belowClientOrderId", "str"],
      ["belowType", "u8"],
      ["belowTif", "u8"],
      ["belowPriceTicks", "u53"],
      ["belowStopPriceTicks", "u53"],
      ...SIGNED_ONCE,
    ],
  ],
  [
    "placeOto",
    [
      ["userId", "u53"],
      ["symbol", "str"],
      ["listClientOrderId", "str"],
      ["stp", "u8"],
      ["time", "u53"],
      ["workingClientOrderId", "str"],
      ["workingType", "u8"],
      ["workingSide", "u8"],
      ["workingTif", "u8"],
      ["workingPriceTicks", "u53"],
      ["workingQtyLots", "u53"],
      ["pendingSide", "u8"],
      ["pendingQtyLots", "u53"],
      ["pendingClientOrderId", "str"],
      ["pendingType", "u8"],
      ["pendingTif", "u8"],
      ["pendingPriceTicks", "u53"],
      ["pendingStopPriceTicks", "u53"],
      ["pendingBelowClientOrderId", "optStr"],
      ["pendingBelowType", "optU53"],
      ["pendingBelowTif", "optU53"],
      ["pendingBelowPriceTicks", "optU53"],
      ["pendingBelowStopPriceTicks", "optU53"],
      ...SIGNED_ONCE,
    ],
  ],
];
const CODES = new Map(LAYOUTS.map(([kind], i) => [kind, i]));
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

export function encodeCommand(cmd: UbsCommand): Uint8Array {
  // From Node's shared pool (no buffer of its own per command); every byte is written below.
  const out = Buffer.allocUnsafe(commandSize(cmd));
  writeCommand(cmd, out, new DataView(out.buffer, out.byteOffset, out.byteLength), 0);
  return out;
}

/** How many bytes `writeCommand` writes for `cmd`. */
export function commandSize(cmd: UbsCommand): number {
  const values = cmd as unknown as Record<string, unknown>;
  let size = 2;
  for (const { name, optional, codec } of planOf(cmd)) {
    const value = values[name];
    if (!optional) size += codec.size(value);
    else size += value === undefined ? 1 : 1 + codec.size(value);
  }
  return size;
}

/**
 * Writes `cmd`'s bytes at `at` of `out` (`view` over the same bytes), which has room for
 * `commandSize(cmd)` of them: how the journal takes a command, straight into its write.
 */
export function writeCommand(cmd: UbsCommand, out: Buffer, view: DataView, at: number): void {
  const values = cmd as unknown as Record<string, unknown>;
  out[at] = BINARY_V2;
  out[at + 1] = CODES.get(cmd.kind)!;
  let o = at + 2;
  for (const { name, optional, codec } of planOf(cmd)) {
    const value = values[name];
    if (optional) {
      out[o++] = value === undefined ? 0 : 1;
      if (value === undefined) continue;
    }
    o = codec.write(view, out, o, value, name);
  }
}

function planOf(cmd: UbsCommand): readonly FieldPlan[] {
  const code = CODES.get(cmd.kind);
  if (code === undefined) return fail("INTERNAL", `no layout for command ${cmd.kind}`);
  return PLANS[code]!;
}

export function decodeCommand(bytes: Uint8Array): UbsCommand {
  if (bytes[0] === JSON_V1) {
    return parseExact<UbsCommand>(fromUtf8.decode(bytes.subarray(1)));
  }
  if (bytes[0] !== BINARY_V2) return fail("CORRUPT_JOURNAL", `unknown UBSCore record version ${bytes[0]}`);
  const layout = LAYOUTS[bytes[1]!];
  if (!layout) return fail("CORRUPT_JOURNAL", `unknown UBSCore command code ${bytes[1]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cmd: Record<string, unknown> = { kind: layout[0] };
  let o = 2;
  for (const [name, type] of layout[1]) {
    if (OPTIONAL.has(type)) {
      if (o === bytes.length) continue; // written before this field existed
      const present = bytes[o++];
      if (!present) continue;
    }
    o = VALUES[BASE[type]].read(view, bytes, o, cmd, name);
  }
  if (o !== bytes.length)
    fail("CORRUPT_JOURNAL", `UBSCore ${layout[0]} record has ${bytes.length - o} stray bytes`);
  return cmd as unknown as UbsCommand;
}

const OPTIONAL: ReadonlySet<FieldType> = new Set(["optU53", "optStr", "optBytes"]);
type ValueType = "u53" | "u8" | "amount" | "str" | "bytes";
/** What an optional field holds when present (after its presence byte). */
const BASE: Readonly<Record<FieldType, ValueType>> = {
  u53: "u53",
  optU53: "u53",
  u8: "u8",
  amount: "amount",
  str: "str",
  optStr: "str",
  bytes: "bytes",
  optBytes: "bytes",
};

/**
 * Each value type's bytes: its size, its writer (which checks the value, returning the offset
 * after it) and its reader (which sets `cmd[name]`, returning the offset after it).
 */
interface ValueCodec {
  size(value: unknown): number;
  write(view: DataView, out: Buffer, o: number, value: unknown, name: string): number;
  read(view: DataView, bytes: Uint8Array, o: number, cmd: Record<string, unknown>, name: string): number;
}

const VALUES: Readonly<Record<ValueType, ValueCodec>> = {
  u8: {
    size: () => 1,
    write(_view, out, o, value, name) {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xff) {
        fail("INTERNAL", `${name} is not a u8: ${String(value)}`);
      }
      out[o] = value as number;
      return o + 1;
    },
    read(_view, bytes, o, cmd, name) {
      cmd[name] = bytes[o];
      return o + 1;
    },
  },
  u53: {
    size: () => 8,
    write(view, _out, o, value, name) {
      if (typeof value !== "number") fail("INTERNAL", `${name} is not a number: ${String(value)}`);
      view.setFloat64(o, value as number, true);
      return o + 8;
    },
    read(view, _bytes, o, cmd, name) {
      cmd[name] = view.getFloat64(o, true);
      return o + 8;
    },
  },
  amount: {
    size: () => 16,
    write(view, _out, o, value, name) {
      if (typeof value !== "bigint" || value < 0n || value >= 1n << 128n)
        fail("INTERNAL", `${name} is not a u128: ${String(value)}`);
      writeU128(view, o, value as bigint);
      return o + 16;
    },
    read(view, _bytes, o, cmd, name) {
      cmd[name] = readU128(view, o);
      return o + 16;
    },
  },
  bytes: {
    size: (value) => 4 + (value as Uint8Array).length,
    write(view, out, o, value, name) {
      if (!(value instanceof Uint8Array)) fail("INTERNAL", `${name} is not bytes`);
      const b = value as Uint8Array;
      view.setUint32(o, b.length, true);
      out.set(b, o + 4);
      return o + 4 + b.length;
    },
    read(view, bytes, o, cmd, name) {
      const length = view.getUint32(o, true);
      // A copy as a plain Uint8Array even from a Buffer (whose slice is a view into it).
      cmd[name] = new Uint8Array(bytes.subarray(o + 4, o + 4 + length));
      return o + 4 + length;
    },
  },
  str: {
    size: (value) => 2 + Buffer.byteLength(value as string),
    write(view, out, o, value, name) {
      // Written, then measured by what was written: the room for it was measured by `size`.
      const length = out.write(value as string, o + 2, "utf8");
      if (length > 0xffff) fail("INTERNAL", `${name} is longer than 65535 bytes`);
      view.setUint16(o, length, true);
      return o + 2 + length;
    },
    read(view, bytes, o, cmd, name) {
      const length = view.getUint16(o, true);
      cmd[name] = fromUtf8.decode(bytes.subarray(o + 2, o + 2 + length));
      return o + 2 + length;
    },
  },
};

/** A layout's field as the encoder takes it: worked out once, not per command. */
interface FieldPlan {
  readonly name: string;
  readonly optional: boolean;
  readonly codec: ValueCodec;
}

/** LAYOUTS by code, each field with its codec. */
const PLANS: readonly (readonly FieldPlan[])[] = LAYOUTS.map(([, fields]) =>
  fields.map(([name, type]) => ({ name, optional: OPTIONAL.has(type), codec: VALUES[BASE[type]] })),
);
