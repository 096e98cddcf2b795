/**
 * Offsets and codes of the Aeron media driver's shared-memory protocol (CnC file version 0.2.x,
 * control protocol 1.0), as the Java driver lays them out. Every number here was checked against
 * the driver from Maven Central (io.aeron:aeron-all 1.51.0); the interop test keeps them honest.
 */
export const CACHE_LINE = 64;

/**
 * cnc.dat: a 128-byte header (version, the five buffer lengths, then the client liveness timeout,
 * start time and pid, which this client does not read), then the buffers in the same order.
 */
export const Cnc = {
  FILE: "cnc.dat",
  /** Semantic version 0.2.0: the major part must match, the minor may grow compatibly. */
  VERSION: (0 << 16) | (2 << 8) | 0,
  VERSION_OFFSET: 0,
  TO_DRIVER_LENGTH_OFFSET: 4,
  TO_CLIENTS_LENGTH_OFFSET: 8,
  COUNTERS_METADATA_LENGTH_OFFSET: 12,
  COUNTERS_VALUES_LENGTH_OFFSET: 16,
  HEADER_LENGTH: CACHE_LINE * 2,
} as const;

/** The many-to-one ring buffer clients write commands into; its trailer follows the data. */
export const Ring = {
  TAIL_OFFSET: CACHE_LINE * 2,
  HEAD_CACHE_OFFSET: CACHE_LINE * 4,
  HEAD_OFFSET: CACHE_LINE * 6,
  CORRELATION_COUNTER_OFFSET: CACHE_LINE * 8,
  CONSUMER_HEARTBEAT_OFFSET: CACHE_LINE * 10,
  TRAILER_LENGTH: CACHE_LINE * 12,
  RECORD_HEADER_LENGTH: 8,
  RECORD_ALIGNMENT: 8,
  PADDING_TYPE: -1,
} as const;

/** The one-to-many broadcast buffer the driver answers on; its trailer follows the data. */
export const Broadcast = {
  TAIL_INTENT_OFFSET: 0,
  TAIL_OFFSET: 8,
  LATEST_OFFSET: 16,
  TRAILER_LENGTH: CACHE_LINE * 2,
  RECORD_HEADER_LENGTH: 8,
  RECORD_ALIGNMENT: 8,
  PADDING_TYPE: -1,
} as const;

/** Counter values: one 128-byte slot per counter id. */
export const COUNTER_LENGTH = 128;

/** A publication's log: three terms, then a page of metadata at the end of the file. */
export const Log = {
  PARTITIONS: 3,
  METADATA_LENGTH: 4096,
  TAILS_OFFSET: 0,
  ACTIVE_TERM_COUNT_OFFSET: 24,
  /** Set by the driver when the publication closes (Long.MAX_VALUE until then). */
  END_OF_STREAM_POSITION_OFFSET: CACHE_LINE * 2,
  IS_CONNECTED_OFFSET: CACHE_LINE * 2 + 8,
  INITIAL_TERM_ID_OFFSET: CACHE_LINE * 4 + 8,
  MTU_OFFSET: CACHE_LINE * 4 + 16,
  TERM_LENGTH_OFFSET: CACHE_LINE * 4 + 20,
  DEFAULT_HEADER_OFFSET: CACHE_LINE * 5,
} as const;

/** Data frames in a term: a 32-byte header, 32-byte aligned. */
export const Frame = {
  HEADER_LENGTH: 32,
  ALIGNMENT: 32,
  FLAGS_OFFSET: 5,
  TYPE_OFFSET: 6,
  TERM_OFFSET_OFFSET: 8,
  TERM_ID_OFFSET: 20,
  TYPE_PAD: 0,
  TYPE_DATA: 1,
  BEGIN: 0x80,
  END: 0x40,
  UNFRAGMENTED: 0xc0,
  MAX_MESSAGE_LENGTH: 16 * 1024 * 1024,
} as const;

/** Commands to the driver (ring buffer message type ids). */
export const Command = {
  ADD_PUBLICATION: 0x01,
  REMOVE_PUBLICATION: 0x02,
  ADD_EXCLUSIVE_PUBLICATION: 0x03,
  ADD_SUBSCRIPTION: 0x04,
  REMOVE_SUBSCRIPTION: 0x05,
  CLIENT_KEEPALIVE: 0x06,
  CLIENT_CLOSE: 0x0b,
} as const;

/** Responses and events from the driver (broadcast message type ids). */
export const Response = {
  ON_ERROR: 0x0f01,
  ON_AVAILABLE_IMAGE: 0x0f02,
  ON_PUBLICATION_READY: 0x0f03,
  ON_OPERATION_SUCCESS: 0x0f04,
  ON_UNAVAILABLE_IMAGE: 0x0f05,
  ON_EXCLUSIVE_PUBLICATION_READY: 0x0f06,
  ON_SUBSCRIPTION_READY: 0x0f07,
  ON_CLIENT_TIMEOUT: 0x0f0a,
} as const;

/** Publication.offer results below zero, as the Java client numbers them. */
export const Offer = {
  NOT_CONNECTED: -1,
  BACK_PRESSURED: -2,
  ADMIN_ACTION: -3,
  CLOSED: -4,
  MAX_POSITION_EXCEEDED: -5,
} as const;

export function align(value: number, alignment: number): number {
  return (value + alignment - 1) & ~(alignment - 1);
}
