import type { LedgerPort } from "../../ledger/src/index.ts";
import { EmbeddedLedger } from "../../ledger/src/index.ts";
import { ledgerConformance } from "../../ledger/test/conformance.ts";
import { RpcClient, RpcServer, tcpTransport } from "../../transport/src/index.ts";
import { ledgerCalls, remoteLedger } from "../src/remote-ledger.ts";

/** The embedded ledger as `bourse settlement` serves it: the same cases, across TCP. */
ledgerConformance("embedded ledger served over TCP", async (): Promise<LedgerPort> => {
  const ledger = await EmbeddedLedger.open();
  const server = await RpcServer.listen(tcpTransport, "127.0.0.1:0", ledgerCalls(ledger));
  const client = await RpcClient.connect(tcpTransport, server.address);
  return {
    ...remoteLedger(client),
    async close() {
      client.close();
      await server.close();
      await ledger.close();
    },
  };
});
