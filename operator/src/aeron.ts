import type { V1ResourceRequirements } from "@kubernetes/client-node";
import type { Exchange } from "./exchange.ts";

/**
 * The memory-backed /dev/shm each media driver maps its logs into (transport: aeron), sized from
 * what that driver holds, so no number of gateways runs out of it: a log is three terms plus a
 * metadata page, one per publication and one per subscribed image; the CnC file, counters and
 * loss report fit in the fixed margin. The term length is the spec's (Aeron's default 16 MiB),
 * handed to each driver as a JVM system property.
 */
const TERM_LENGTHS = ["64Ki", "128Ki", "256Ki", "512Ki", "1Mi", "2Mi", "4Mi", "8Mi", "16Mi", "32Mi", "64Mi"];
export const DEFAULT_TERM_LENGTH = "16Mi";
const MIB = 2 ** 20;
/** CnC (command buffers, counters: ~8 MiB at Aeron's defaults), loss report (1 MiB), slack. */
const DRIVER_MARGIN = 16 * MIB;

export type AeronPeer = "ubscore" | "gateway" | "matching";

export function termLengthBytes(ex: Exchange): number {
  const text = ex.spec.aeron?.termLength ?? DEFAULT_TERM_LENGTH;
  if (!TERM_LENGTHS.includes(text))
    throw new RangeError(`aeron.termLength ${text} is not one of ${TERM_LENGTHS}`);
  const n = Number.parseInt(text, 10);
  return text.endsWith("Mi") ? n * MIB : n * 1024;
}

/**
 * Logs a pod's driver holds. A gateway and matching: their publication and the image of the
 * replies. UBSCore: per gateway an image of its commands and a reply publication, plus those of
 * one gateway more (a rolling update's surge, or a replaced gateway's logs until they time out),
 * and the publication to matching with the image of its answers.
 */
export function logsPerDriver(ex: Exchange, peer: AeronPeer): number {
  return peer === "ubscore" ? 2 * (ex.spec.gateway.replicas + 1) + 2 : 2;
}

export function shmBytes(ex: Exchange, peer: AeronPeer): number {
  const logBytes = 3 * termLengthBytes(ex) + 4096;
  return logsPerDriver(ex, peer) * logBytes + DRIVER_MARGIN;
}

/** In MiB, rounded up: a quantity both the emptyDir's sizeLimit and the driver's memory request take. */
export function shmQuantity(ex: Exchange, peer: AeronPeer): string {
  return `${Math.ceil(shmBytes(ex, peer) / MIB)}Mi`;
}

/** The driver's JVM takes Aeron settings as system properties: the term length for UDP and IPC logs. */
export function driverJavaOptions(ex: Exchange): string {
  const term = termLengthBytes(ex);
  return `-Daeron.term.buffer.length=${term} -Daeron.ipc.term.buffer.length=${term}`;
}

/** The media driver's own memory (a JVM) on top of the logs it maps. */
export function driverResources(ex: Exchange, peer: AeronPeer): V1ResourceRequirements {
  const shm = Math.ceil(shmBytes(ex, peer) / MIB);
  return {
    requests: { cpu: "50m", memory: `${256 + shm}Mi` },
    limits: { memory: `${512 + shm}Mi` },
  };
}
