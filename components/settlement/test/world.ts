import { join } from "node:path";
import { expect } from "vitest";
import { DEMO_EXCHANGE, ExchangeDefinition, isBourseError } from "../../domain/src/index.ts";
import type { LedgerPort } from "../../ledger/src/index.ts";
import { EmbeddedLedger } from "../../ledger/src/index.ts";
import { OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import type { HistoryStore } from "../../store/src/index.ts";
import { EmbeddedStore } from "../../store/src/index.ts";
import type { UbsCommand } from "../../ubscore/src/index.ts";
import { UbsCoreService } from "../../ubscore/src/index.ts";
import { reconcile } from "../src/reconcile.ts";
import { Settlement, type SettlementOptions } from "../src/settlement.ts";

/** UBSCore with settlement into a ledger (the embedded one unless given) and an embedded store. */
export const exchange = new ExchangeDefinition(DEMO_EXCHANGE);

export async function openAll(
  dir: string,
  wrap: (store: HistoryStore) => HistoryStore = (s) => s,
  snapshotEvery = 25,
  options: SettlementOptions = {},
  openLedger: () => Promise<LedgerPort> = () => EmbeddedLedger.open(join(dir, "ledger")),
) {
  const ledger = await openLedger();
  const store = wrap(await EmbeddedStore.open(join(dir, "store")));
  const settlement = await Settlement.open(join(dir, "settlement"), ledger, store, exchange, options);
  const settle = settlement.record.bind(settlement);
  const service = await UbsCoreService.open(dir, exchange, { onReplay: settle, snapshotEvery });
  service.onCommand(settle);
  const check = () =>
    service.exclusive(async () => {
      await settlement.waitSettled(service.lastLsn);
      return reconcile(service.core, ledger, service.lastLsn);
    });
  const close = async () => {
    await service.close();
    await settlement.close();
  };
  /** The store's history must be UBSCore's: every order in its latest state, every trade once. */
  const expectHistoryMatches = async () => {
    await settlement.waitSettled(service.lastLsn);
    const core = service.core;
    expect(await store.tradesByMarket(1, 1_000_000)).toEqual(core.tradesOf(1));
    for (const userId of core.userIds()) {
      const stored = await store.ordersByUser(userId, 1);
      expect(stored.map((o) => [o.orderId, o.status, o.executedLots, o.cumQuote])).toEqual(
        core.allOrders(userId, 1).map((o) => [o.orderId, o.status, o.executedLots, o.cumQuote]),
      );
    }
  };
  return { service, settlement, ledger, check, close, expectHistoryMatches };
}

export async function submit(service: UbsCoreService, cmds: UbsCommand[]): Promise<void> {
  for (const cmd of cmds) {
    await service.submit(cmd).catch((e) => {
      if (!isBourseError(e) || e.code === "INTERNAL") throw e;
    });
  }
}

export const funding: UbsCommand[] = [1, 2, 3].flatMap((userId): UbsCommand[] => [
  { kind: "createUser", userId },
  { kind: "credit", userId, asset: "USDT", amount: 10_000_000n * 10n ** 8n },
  { kind: "credit", userId, asset: "BTC", amount: 100n * 10n ** 8n },
]);

/** User 1's `i`th resting sell of 0.001 BTC, at one of fifty prices around 60,000 USDT. */
export function limitSell(i: number): Extract<UbsCommand, { kind: "place" }> {
  return {
    kind: "place",
    userId: 1,
    symbol: "BTCUSDT",
    clientOrderId: `s${i}`,
    side: Side.Sell,
    type: OrderType.Limit,
    tif: TimeInForce.GTC,
    priceTicks: 6_000_000 + (i % 50),
    qtyLots: 100,
    quoteUnits: 0n,
    stp: 0,
    time: 1,
  };
}
