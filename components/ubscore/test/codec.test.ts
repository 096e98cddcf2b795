import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringifyExact } from "../../domain/src/index.ts";
import { decodeCommand, encodeCommand } from "../src/codec.ts";
import type { UbsCommand } from "../src/types.ts";

const id = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const amount = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
const text = fc.string({ unit: "grapheme", maxLength: 40 });
const u8 = fc.integer({ min: 0, max: 255 });
/** The signed request a command came from, or none (SignedOnce: both fields or neither). */
const signedOnce = fc.option(
  fc.record({ signature: fc.uint8Array({ minLength: 32, maxLength: 32 }), validUntil: id }),
  {
    nil: undefined,
  },
);
const withOnce = <T>(arb: fc.Arbitrary<T>) =>
  fc.tuple(arb, signedOnce).map(([cmd, once]) => (once ? { ...cmd, ...once } : cmd));
const command: fc.Arbitrary<UbsCommand> = fc.oneof(
  fc.record({ kind: fc.constant("createUser" as const), userId: id }),
  fc.record({ kind: fc.constant("debit" as const), userId: id, asset: text, amount }),
  fc.record(
    { kind: fc.constant("credit" as const), userId: id, asset: text, amount, depositId: text },
    { requiredKeys: ["kind", "userId", "asset", "amount"] },
  ),
  fc.record({ kind: fc.constant("addUser" as const) }),
  fc.record({
    kind: fc.constant("holdWithdrawal" as const),
    withdrawalId: text,
    userId: id,
    asset: text,
    amount,
  }),
  fc.record({
    kind: fc.constantFrom("completeWithdrawal" as const, "cancelWithdrawal" as const),
    withdrawalId: text,
  }),
  fc.record({
    kind: fc.constantFrom("transferIn" as const, "transferOut" as const),
    transferSeq: id,
    userId: id,
    asset: text,
    amount,
  }),
  withOnce(
    fc.record(
      {
        kind: fc.constant("place" as const),
        userId: id,
        symbol: text,
        clientOrderId: text,
        side: u8,
        type: u8,
        tif: u8,
        priceTicks: id,
        qtyLots: id,
        quoteUnits: amount,
        stp: u8,
        time: id,
        stopPriceTicks: id,
      },
      {
        requiredKeys: [
          "kind",
          "userId",
          "symbol",
          "clientOrderId",
          "side",
          "type",
          "tif",
          "priceTicks",
          "qtyLots",
          "quoteUnits",
          "stp",
          "time",
        ],
      },
    ),
  ),
  withOnce(
    fc.record(
      {
        kind: fc.constant("cancel" as const),
        userId: id,
        symbol: text,
        orderId: id,
        clientOrderId: text,
        time: id,
      },
      { requiredKeys: ["kind", "userId", "symbol", "time"] },
    ),
  ),
  withOnce(
    fc.record(
      {
        kind: fc.constant("amend" as const),
        userId: id,
        symbol: text,
        orderId: id,
        clientOrderId: text,
        newClientOrderId: text,
        newQtyLots: id,
        time: id,
      },
      { requiredKeys: ["kind", "userId", "symbol", "newClientOrderId", "newQtyLots", "time"] },
    ),
  ),
  withOnce(
    fc.record({
      kind: fc.constant("placeOco" as const),
      userId: id,
      symbol: text,
      listClientOrderId: text,
      side: u8,
      qtyLots: id,
      stp: u8,
      time: id,
      aboveClientOrderId: text,
      aboveType: u8,
      aboveTif: u8,
      abovePriceTicks: id,
      aboveStopPriceTicks: id,
      belowClientOrderId: text,
      belowType: u8,
      belowTif: u8,
      belowPriceTicks: id,
      belowStopPriceTicks: id,
    }),
  ),
  withOnce(
    fc.record(
      {
        kind: fc.constant("placeOto" as const),
        userId: id,
        symbol: text,
        listClientOrderId: text,
        stp: u8,
        time: id,
        workingClientOrderId: text,
        workingType: u8,
        workingSide: u8,
        workingTif: u8,
        workingPriceTicks: id,
        workingQtyLots: id,
        pendingSide: u8,
        pendingQtyLots: id,
        pendingClientOrderId: text,
        pendingType: u8,
        pendingTif: u8,
        pendingPriceTicks: id,
        pendingStopPriceTicks: id,
        pendingBelowClientOrderId: text,
        pendingBelowType: u8,
        pendingBelowTif: u8,
        pendingBelowPriceTicks: id,
        pendingBelowStopPriceTicks: id,
      },
      {
        // An OTO has no below order; an OTOCO (the test does not tie them) any of its fields.
        requiredKeys: [
          "kind",
          "userId",
          "symbol",
          "listClientOrderId",
          "stp",
          "time",
          "workingClientOrderId",
          "workingType",
          "workingSide",
          "workingTif",
          "workingPriceTicks",
          "workingQtyLots",
          "pendingSide",
          "pendingQtyLots",
          "pendingClientOrderId",
          "pendingType",
          "pendingTif",
          "pendingPriceTicks",
          "pendingStopPriceTicks",
        ],
      },
    ),
  ),
  withOnce(fc.record({ kind: fc.constant("cancelAll" as const), userId: id, symbol: text, time: id })),
  withOnce(fc.record({ kind: fc.constant("takeSignature" as const), userId: id, time: id })),
  fc.record({ kind: fc.constantFrom("halt" as const, "resume" as const), symbol: text }),
  fc.record({ kind: fc.constant("matched" as const), marketId: id, seq: id, events: fc.uint8Array() }),
  fc.record({
    kind: fc.constant("listenKey" as const),
    op: fc.constantFrom(0, 1, 2),
    userId: id,
    key: text,
    time: id,
    ttlMs: id,
    maxPerUser: id,
  }),
) as fc.Arbitrary<UbsCommand>;

describe("UBSCore command codec", () => {
  it("round-trips every command kind exactly (u128 amounts, safe integers, any UTF-8, optional fields)", () => {
    fc.assert(
      fc.property(command, (cmd) => {
        expect(decodeCommand(encodeCommand(cmd))).toEqual(cmd);
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps a value the core will reject as given, so replay rejects it the same way", () => {
    const bad = { kind: "createUser", userId: -1.5 } as UbsCommand;
    expect(decodeCommand(encodeCommand(bad))).toEqual(bad);
  });

  it("refuses unknown versions, unknown kinds and records with stray bytes", () => {
    const good = encodeCommand({ kind: "halt", symbol: "BTCUSDT" });
    expect(() => decodeCommand(new Uint8Array([9, ...good.subarray(1)]))).toThrow(/version 9/);
    expect(() => decodeCommand(new Uint8Array([2, 200]))).toThrow(/code 200/);
    expect(() => decodeCommand(new Uint8Array([...good, 0]))).toThrow(/stray/);
  });
});

describe("UBSCore command codec: the bytes of earlier releases and of each layout", () => {
  it("reads version 1 (JSON) records written by earlier releases", () => {
    const cmd: UbsCommand = { kind: "credit", userId: 7, asset: "USDT", amount: 10n ** 30n };
    const v1 = new Uint8Array([1, ...Buffer.from(stringifyExact(cmd), "utf8")]);
    expect(decodeCommand(v1)).toEqual(cmd);
  });

  it("reads order commands written before they carried their signed request", () => {
    const cmd: UbsCommand = { kind: "cancelAll", userId: 3, symbol: "BTCUSDT", time: 1_700_000_000_000 };
    const encoded = encodeCommand(cmd);
    // Then, the record ended after `time`: no presence bytes for signature and validUntil.
    expect(decodeCommand(encoded.subarray(0, encoded.length - 2))).toEqual(cmd);
  });

  it("writes the bytes it wrote before its field types became a table", () => {
    const hex = (cmd: UbsCommand) => Buffer.from(encodeCommand(cmd)).toString("hex");
    expect(
      hex({ kind: "credit", userId: 7, asset: "BTC", amount: (1n << 100n) + 5n, depositId: "dép-1" }),
    ).toBe("02010000000000001c4003004254430500000000000000000000001000000001060064c3a9702d31");
    const place: UbsCommand = {
      kind: "place",
      userId: 8,
      symbol: "BTCUSDT",
      clientOrderId: "c1",
      side: 1,
      type: 0,
      tif: 2,
      priceTicks: 101,
      qtyLots: 3,
      quoteUnits: 0n,
      stp: 1,
      time: 1700000000000,
      signature: new Uint8Array([1, 2, 3]),
      validUntil: 1700000005000,
    };
    expect(hex(place)).toBe(
      // The last byte: the stop price appended for triggered orders, absent (0); a record written
      // before it ends one byte earlier and reads the same.
      "020800000000000020400700425443555344540200633101000200000000004059400000000000000840" +
        "000000000000000000000000000000000100008056febc78420103000000010203010080b857febc7842" +
        "00",
    );
    expect(decodeCommand(encodeCommand(place).subarray(0, -1))).toEqual(place);
    expect(hex({ kind: "cancel", userId: 8, symbol: "BTCUSDT", clientOrderId: "c1", time: 5 })).toBe(
      "0209000000000000204007004254435553445400010200633100000000000014400000",
    );
    expect(hex({ kind: "matched", marketId: 1, seq: 9, events: new Uint8Array([9, 8]) })).toBe(
      "020d000000000000f03f0000000000002240020000000908",
    );
    expect(hex({ kind: "addUser" })).toBe("020e");
  });

  it("writes an OCO as its layout says (code 18: the list, then the above and the below leg)", () => {
    const hex = Buffer.from(
      encodeCommand({
        kind: "placeOco",
        userId: 2,
        symbol: "BTCUSDT",
        listClientOrderId: "L",
        side: 1,
        qtyLots: 50,
        stp: 0,
        time: 7,
        aboveClientOrderId: "A",
        aboveType: 2,
        aboveTif: 0,
        abovePriceTicks: 62,
        aboveStopPriceTicks: 0,
        belowClientOrderId: "B",
        belowType: 4,
        belowTif: 0,
        belowPriceTicks: 57,
        belowStopPriceTicks: 58,
      }),
    ).toString("hex");
    const f64 = (n: number) => Buffer.from(new Float64Array([n]).buffer).toString("hex");
    const str = (s: string) =>
      `${Buffer.from([s.length, 0]).toString("hex")}${Buffer.from(s).toString("hex")}`;
    expect(hex).toBe(
      `0212${f64(2)}${str("BTCUSDT")}${str("L")}01${f64(50)}00${f64(7)}` +
        `${str("A")}0200${f64(62)}${f64(0)}${str("B")}0400${f64(57)}${f64(58)}0000`,
    );
  });
});
