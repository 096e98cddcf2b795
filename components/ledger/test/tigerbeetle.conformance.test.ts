import { describe, it } from "vitest";
import { TigerBeetleLedger } from "../src/tigerbeetle-ledger.ts";
import { ledgerConformance } from "./conformance.ts";

/**
 * The same suite against a real TigerBeetle cluster. None can run on the development machine; the
 * k3d workflow sets TIGERBEETLE_ADDRESS (and TIGERBEETLE_CLUSTER_ID) for the cluster it starts.
 */
const address = process.env.TIGERBEETLE_ADDRESS;
if (address) {
  ledgerConformance(
    `TigerBeetle at ${address}`,
    async () => new TigerBeetleLedger(BigInt(process.env.TIGERBEETLE_CLUSTER_ID ?? "0"), address.split(",")),
  );
} else {
  describe("ledger conformance: TigerBeetle", () => {
    it.skip("needs TIGERBEETLE_ADDRESS (set by the k3d workflow); no TigerBeetle server runs on this machine", () => {});
  });
}
