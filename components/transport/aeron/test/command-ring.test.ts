import { describe, expect, it } from "vitest";
import { CommandRing } from "../src/command-ring.ts";
import { Ring } from "../src/layout.ts";
import { AtomicBuffer } from "../src/shared-memory.ts";

/**
 * The producer side of the driver's command ring on a buffer of this process's own (the driver's
 * side, which moves the head, played by the test): records land whole and in order, a record that
 * would cross the end pads to it and starts over, and a ring without room says so.
 */
const CAPACITY = 512;

function ring(): { ring: CommandRing; buffer: AtomicBuffer; consumeTo(head: number): void } {
  const buffer = new AtomicBuffer(
    new SharedArrayBuffer(CAPACITY + Ring.TRAILER_LENGTH),
    0,
    CAPACITY + Ring.TRAILER_LENGTH,
  );
  return {
    ring: new CommandRing(buffer),
    buffer,
    consumeTo: (head) => buffer.putInt64Ordered(CAPACITY + Ring.HEAD_OFFSET, BigInt(head)),
  };
}

const payload = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe("the command ring", () => {
  it("writes each record whole after the one before, with its length and type", () => {
    const { ring: r, buffer } = ring();
    r.write(7, payload(5, 1));
    r.write(8, payload(16, 2));
    expect(buffer.getInt32(0)).toBe(13);
    expect(buffer.getInt32(4)).toBe(7);
    expect([...buffer.bytes.subarray(8, 13)]).toEqual([1, 1, 1, 1, 1]);
    expect(buffer.getInt32(16)).toBe(24);
    expect(buffer.getInt32(20)).toBe(8);
    expect(buffer.getInt64Volatile(CAPACITY + Ring.TAIL_OFFSET)).toBe(40n);
  });

  it("pads to the end and starts over when a record would cross it, once the driver has read that far", () => {
    const { ring: r, buffer, consumeTo } = ring();
    for (let i = 0; i < 12; i++) r.write(1, payload(32, i)); // 12 records of 40 bytes: 480 of 512
    consumeTo(32); // room for 40 in all, but the start has only 32 before the head
    expect(() => r.write(2, payload(32, 9))).toThrow(/command buffer is full/);
    consumeTo(40);
    r.write(2, payload(32, 9));
    expect(buffer.getInt32(480)).toBe(32); // padding to the end
    expect(buffer.getInt32(484)).toBe(Ring.PADDING_TYPE);
    expect(buffer.getInt32(0)).toBe(40);
    expect(buffer.getInt32(4)).toBe(2);
    expect(buffer.getInt64Volatile(CAPACITY + Ring.TAIL_OFFSET)).toBe(552n);
    expect(buffer.getInt64Volatile(CAPACITY + Ring.HEAD_CACHE_OFFSET)).toBe(40n);
  });

  it("is full when the driver has not read enough, and takes records again once it has", () => {
    const { ring: r, consumeTo } = ring();
    for (let i = 0; i < 16; i++) r.write(1, payload(24, i)); // 16 records of 32 bytes: exactly full
    expect(() => r.write(1, payload(1, 0))).toThrow(/command buffer is full/);
    consumeTo(16);
    r.write(1, payload(1, 0)); // 16 bytes at the start
    expect(() => r.write(1, payload(1, 0))).toThrow(/command buffer is full/);
  });
});
