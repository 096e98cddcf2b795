import type { BourseConfig } from "../../config/src/schema.ts";
import { ExchangeDefinition } from "../../domain/src/exchange.ts";
import type { FundingPort } from "../../gateway/src/funding.ts";
import { type ApiKey, KeyRing } from "../../gateway/src/keys.ts";
import { buildTradingApi } from "../../gateway/src/trading-api.ts";
import type { TransferRecord } from "../../transfers/src/transfer-saga.ts";
import { tcpTransport } from "../../transport/src/tcp.ts";
import { ReplicationServer, UbsCoreReplica } from "../../ubscore/src/replication.ts";
import { startUbsCoreNode, type UbsCoreNode } from "./embedded.ts";

/**
 * The exchange as separate processes. `bourse ubscore` runs the UBSCore node (journal, matching,
 * settlement, ledger, transfers, operator API) and serves gateways over the transport;
 * `bourse gateway` runs the trading API on a replica of UBSCore, any number of them.
 */
type ApiKeyEvent = { kind: "apiKey"; key: ApiKey };

export interface UbsCoreProcess {
  readonly node: UbsCoreNode;
  /** Where gateways connect. */
  readonly address: string;
  close(): Promise<void>;
}

export async function startUbsCoreProcess(
  config: BourseConfig,
  log: boolean | NodeJS.WritableStream = true,
): Promise<UbsCoreProcess> {
  const node = await startUbsCoreNode(config, log);
  const { funding, keys } = node;
  const replication = new ReplicationServer(
    node.service,
    {
      transfer: (req: Parameters<FundingPort["transfer"]>[0]) => funding.transfer(req),
      history: (userId: number, type: TransferRecord["type"]) => funding.history(userId, type),
      balances: (userId: number) => funding.balances(userId),
    },
    () => keys.all().map((key): ApiKeyEvent => ({ kind: "apiKey", key })),
  );
  keys.onCreated((key) => replication.broadcast({ kind: "apiKey", key } satisfies ApiKeyEvent));
  const server = await tcpTransport.listen(config.ubscore.listen, (channel) => replication.accept(channel));
  return {
    node,
    address: server.address,
    async close() {
      await server.close();
      await node.close();
    },
  };
}

export interface GatewayProcess {
  readonly tradingUrl: string;
  readonly replica: UbsCoreReplica;
  close(): Promise<void>;
}

/**
 * A gateway: subscribes to UBSCore, then serves the trading API from its replica. It ends when
 * the replica does (`replica.closed`): the caller exits and its supervisor starts a fresh one.
 */
export async function startGatewayProcess(
  config: BourseConfig,
  log: boolean | NodeJS.WritableStream = true,
): Promise<GatewayProcess> {
  const keyRing = new KeyRing();
  const channel = await tcpTransport.connect(config.ubscore.address);
  const replica = await UbsCoreReplica.open(channel, new ExchangeDefinition(config.exchange), (event) => {
    const e = event as ApiKeyEvent;
    if (e.kind === "apiKey") keyRing.add(e.key);
  });
  const funding: FundingPort = {
    transfer: (req) => replica.call<TransferRecord>("transfer", req),
    history: (userId, type) => replica.call<TransferRecord[]>("history", userId, type),
    balances: (userId) => replica.call("balances", userId),
  };
  const trading = buildTradingApi({
    service: replica,
    funding,
    keys: keyRing,
    rateLimits: config.gateway.rateLimit,
    maxBodyBytes: config.gateway.maxBodyBytes,
    logger: log,
  });
  const tradingUrl = await trading.listen({ host: config.gateway.host, port: config.gateway.port });
  return {
    tradingUrl,
    replica,
    async close() {
      await trading.close();
      replica.close();
    },
  };
}
