/**
 * Unsigned 128-bit integers (bigint) in 16 little-endian bytes, as TigerBeetle lays them out and
 * the embedded stores keep them. Values below 2^64 (nearly all) are written and read without the
 * masks and shifts that would allocate intermediate bigints.
 */
const U64_LIMIT = 1n << 64n;

export function writeU128(view: DataView, offset: number, v: bigint): void {
  if (v < U64_LIMIT) {
    view.setBigUint64(offset, v, true);
    view.setBigUint64(offset + 8, 0n, true);
    return;
  }
  view.setBigUint64(offset, v & 0xffff_ffff_ffff_ffffn, true);
  view.setBigUint64(offset + 8, v >> 64n, true);
}

export function readU128(view: DataView, offset: number): bigint {
  const high = view.getBigUint64(offset + 8, true);
  const low = view.getBigUint64(offset, true);
  return high === 0n ? low : low | (high << 64n);
}
