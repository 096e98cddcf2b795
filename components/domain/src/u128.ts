/**
 * Unsigned 64- and 128-bit integers (bigint) in little-endian bytes, as TigerBeetle lays them out
 * and the embedded stores keep them. Values below 2^64 (nearly all) are written and read without
 * the masks and shifts that would allocate intermediate bigints.
 */
const U64_LIMIT = 1n << 64n;

/**
 * Node 20's V8 does not inline DataView.setBigUint64, which costs several times what two
 * setUint32 do, and the ledger writes a dozen such fields a transfer. So a u64 goes through a
 * scratch BigUint64Array (a typed-array store: no allocation, reduced modulo 2^64) and out as its
 * two u32 words, picked in the host's byte order.
 */
const scratch64 = new BigUint64Array(1);
const scratch32 = new Uint32Array(scratch64.buffer);
const LOW_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

/** Writes the low 64 bits of `v`. */
export function writeU64(view: DataView, offset: number, v: bigint): void {
  scratch64[0] = v;
  view.setUint32(offset, scratch32[LOW_WORD]!, true);
  view.setUint32(offset + 4, scratch32[1 - LOW_WORD]!, true);
}

/** Writes the low 128 bits of `v`. */
export function writeU128(view: DataView, offset: number, v: bigint): void {
  writeU64(view, offset, v);
  writeU64(view, offset + 8, v < U64_LIMIT ? 0n : v >> 64n);
}

export function readU128(view: DataView, offset: number): bigint {
  const high = view.getBigUint64(offset + 8, true);
  const low = view.getBigUint64(offset, true);
  return high === 0n ? low : low | (high << 64n);
}
