import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedLedger } from "../src/embedded-ledger.ts";
import { ledgerConformance } from "./conformance.ts";

ledgerConformance("embedded ledger (in memory)", () => EmbeddedLedger.open());
ledgerConformance("embedded ledger (durable)", async () =>
  EmbeddedLedger.open(await mkdtemp(join(tmpdir(), "bourse-ledger-"))),
);
