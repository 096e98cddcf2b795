import { BourseError } from "../../domain/src/index.ts";
import type { Channel, Transport } from "./port.ts";

export interface DialOptions {
  /** Give up (UNAVAILABLE) once the next attempt would start after this time (epoch ms). */
  readonly until?: number;
  /** Stop trying (resolving undefined) once this says so. */
  readonly stopped?: () => boolean;
  readonly onError?: (e: Error) => void;
}

/**
 * Connects to `address`, trying again after each failure with a doubling delay (50 ms up to 2 s):
 * the peer may be starting, or restarting after a crash.
 */
export async function dial(
  transport: Transport,
  address: string,
  options: DialOptions = {},
): Promise<Channel | undefined> {
  for (let delay = 50; ; delay = Math.min(2_000, delay * 2)) {
    if (options.stopped?.()) return undefined;
    try {
      return await transport.connect(address);
    } catch (e) {
      options.onError?.(e as Error);
      if (options.until !== undefined && Date.now() + delay > options.until) {
        throw new BourseError("UNAVAILABLE", `cannot reach ${address}: ${(e as Error).message}`);
      }
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}
