/** Why the Aeron client failed, as a code a caller can branch on. */
export type AeronErrorCode =
  | "NATIVE_ADDON" // the shared-memory addon is not built
  | "NO_DRIVER" // no media driver's cnc.dat in the directory
  | "CNC_VERSION" // the driver speaks an incompatible CnC version
  | "DRIVER_TIMEOUT" // the driver stopped heart-beating
  | "CLIENT_TIMEOUT" // the driver timed this client out (it did not keep alive)
  | "REGISTRATION" // the driver refused a command (driverCode says why)
  | "COMMAND_BUFFER_FULL" // the driver is not consuming commands
  | "BROADCAST_LAPPED" // this client fell a whole buffer behind the driver's responses
  | "MESSAGE_TOO_LONG"
  | "CLOSED"
  | "NOT_CONNECTED"; // nothing subscribes at the other end

/** Driver error codes (ErrorResponse.errorCode) by name, for messages. */
const DRIVER_CODES = [
  "UNUSED",
  "INVALID_CHANNEL",
  "UNKNOWN_SUBSCRIPTION",
  "UNKNOWN_PUBLICATION",
  "CHANNEL_ENDPOINT_ERROR",
  "UNKNOWN_COUNTER",
  "UNKNOWN_COMMAND_TYPE_ID",
  "MALFORMED_COMMAND",
  "NOT_SUPPORTED",
  "UNKNOWN_HOST",
  "RESOURCE_TEMPORARILY_UNAVAILABLE",
  "GENERIC_ERROR",
  "STORAGE_SPACE",
  "IMAGE_REJECTED",
  "PUBLICATION_REVOKED",
];

export class AeronError extends Error {
  constructor(
    readonly code: AeronErrorCode,
    message: string,
    /** The driver's error code when it refused a command. */
    readonly driverCode?: number,
  ) {
    super(message);
    this.name = "AeronError";
  }

  static fromDriver(code: number, message: string): AeronError {
    return new AeronError("REGISTRATION", `${DRIVER_CODES[code] ?? `code ${code}`}: ${message}`, code);
  }
}
