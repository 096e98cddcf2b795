import { afterAll, beforeAll } from "vitest";
import { startTigerBeetle, type TigerBeetleServer } from "../../../tests/infra/tigerbeetle.ts";
import { TigerBeetleLedger } from "../src/tigerbeetle-ledger.ts";
import { ledgerConformance } from "./conformance.ts";

/** The same suite against a real TigerBeetle replica, started by the test infrastructure. */
let server: TigerBeetleServer;
beforeAll(async () => {
  server = await startTigerBeetle();
});
afterAll(async () => {
  await server?.stop();
});

ledgerConformance(
  "TigerBeetle (real replica)",
  async () => new TigerBeetleLedger(server.clusterId, [server.address]),
);
