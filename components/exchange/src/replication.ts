import type { ApiKey, FundingPort } from "../../gateway/src/index.ts";
import type { Page } from "../../store/src/index.ts";
import type { TransferRecord } from "../../transfers/src/index.ts";
import { ReplicationServer } from "../../ubscore/src/index.ts";
import type { UbsCoreNode } from "./embedded.ts";

/** An event of the replication stream besides the applied commands: an API key created. */
export type ApiKeyEvent = { kind: "apiKey"; key: ApiKey };

/**
 * UBSCore's side of its replicas (gateway processes, or the embedded exchange's gateway threads):
 * the applied commands, the API keys, and the calls they forward.
 */
export function replicationServer(node: UbsCoreNode): ReplicationServer {
  const { funding, keys, store } = node;
  const replication = new ReplicationServer(
    node.service,
    {
      transfer: (req: Parameters<FundingPort["transfer"]>[0]) => funding.transfer(req),
      history: (userId: number, type: TransferRecord["type"]) => funding.history(userId, type),
      balances: (userId: number) => funding.balances(userId),
      order: (orderId: number) => store.order(orderId),
      orderByClientId: (userId: number, marketId: number, clientOrderId: string) =>
        store.orderByClientId(userId, marketId, clientOrderId),
      ordersByUser: (userId: number, marketId: number, page?: Page) =>
        store.ordersByUser(userId, marketId, page),
      tradesByUser: (userId: number, marketId: number, page?: Page) =>
        store.tradesByUser(userId, marketId, page),
      tradesFrom: (marketId: number, fromId: number, limit: number) =>
        store.tradesFrom(marketId, fromId, limit),
    },
    () => keys.all().map((key): ApiKeyEvent => ({ kind: "apiKey", key })),
  );
  keys.onCreated((key) => replication.broadcast({ kind: "apiKey", key } satisfies ApiKeyEvent));
  return replication;
}
