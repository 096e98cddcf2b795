import { afterAll, beforeAll } from "vitest";
import { startTigerBeetle, type TigerBeetleServer } from "../../../tests/infra/tigerbeetle.ts";
import { TigerBeetleLedger } from "../src/tigerbeetle-ledger.ts";
import { ledgerConformance } from "./conformance.ts";

/**
 * The same suite against a real TigerBeetle: the replica the test infrastructure starts, or the
 * cluster at TIGERBEETLE_ADDRESS (with TIGERBEETLE_CLUSTER_ID), as the k3d workflow sets them for
 * the one the operator runs.
 */
const address = process.env.TIGERBEETLE_ADDRESS;
let server: TigerBeetleServer | undefined;
beforeAll(async () => {
  if (!address) server = await startTigerBeetle();
});
afterAll(async () => {
  await server?.stop();
});

ledgerConformance(`TigerBeetle (${address ?? "a replica of the test infrastructure"})`, async () =>
  server
    ? new TigerBeetleLedger(server.clusterId, [server.address])
    : new TigerBeetleLedger(BigInt(process.env.TIGERBEETLE_CLUSTER_ID ?? "0"), address!.split(",")),
);
