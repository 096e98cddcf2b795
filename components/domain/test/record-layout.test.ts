import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { recordCodec, recordLayout } from "../src/record-layout.ts";

const EVERY_TYPE = recordLayout(48, [
  ["a", "u8"],
  [1],
  ["b", "u16"],
  ["c", "u32"],
  ["d", "u64"],
  ["e", "u128"],
  ["f", "f64"],
]);
const codec = recordCodec(EVERY_TYPE);

describe("record layouts", () => {
  it("place each field after the one before it, padding included", () => {
    expect(EVERY_TYPE.at).toEqual({ a: 0, b: 2, c: 4, d: 8, e: 16, f: 32 });
    expect(EVERY_TYPE.end).toBe(40);
  });

  it("read back every value written, at any offset (property)", () => {
    const record = fc.record({
      a: fc.nat(0xff),
      b: fc.nat(0xffff),
      c: fc.nat(0xffff_ffff),
      d: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      e: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
      f: fc.double({ noNaN: true }),
    });
    fc.assert(
      fc.property(record, fc.nat(16), (r, offset) => {
        const view = new DataView(new ArrayBuffer(offset + EVERY_TYPE.size));
        codec.write(r, view, offset);
        expect(codec.read(view, offset)).toEqual(r);
        expect(new Uint8Array(view.buffer)[offset + 1]).toBe(0);
      }),
    );
  });

  it("lay out little-endian bytes", () => {
    const view = new DataView(new ArrayBuffer(EVERY_TYPE.size));
    codec.write({ a: 1, b: 0x0203, c: 0x04050607, d: 0x08n, e: (1n << 64n) | 9n, f: 1 }, view, 0);
    expect(Buffer.from(view.buffer).toString("hex")).toBe(
      "0100030207060504" +
        "0800000000000000" +
        "09000000000000000100000000000000" +
        "000000000000f03f" +
        "0".repeat(16),
    );
  });

  it("refuse fields that overflow the record, and names that are not identifiers", () => {
    expect(() => recordLayout(3, [["x", "u32"]])).toThrow(RangeError);
    expect(() => recordCodec(recordLayout(8, [["x; y", "u32"]]))).toThrow(/not an identifier/);
  });
});
