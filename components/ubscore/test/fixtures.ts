import { DEMO_EXCHANGE, ExchangeDefinition, isBourseError } from "../../domain/src/index.ts";
import { OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import type { UbsCore } from "../src/core.ts";
import type { UbsCoreView } from "../src/service.ts";
import type { PlaceOrder, UbsCommand } from "../src/types.ts";

/** Shared by the UBSCore service and replication tests. */
export const exchange = new ExchangeDefinition(DEMO_EXCHANGE);

/** A canonical, comparable picture of everything UBSCore holds. */
export function dump(core: UbsCore): string {
  const users = [1, 2, 3];
  return JSON.stringify(
    {
      balances: users.map((u) => core.balancesOf(u)),
      fees: core.fees,
      open: users.map((u) => core.openOrders(u)),
      all: users.map((u) => core.allOrders(u, 1)),
      trades: core.tradesOf(1),
      candles: core.candlesOf(1),
      books: [1, 2].map((m) => core.restingOrders(m)),
      depth: core.book(1).depth(),
    },
    (_, v) => (typeof v === "bigint" ? `${v}n` : v),
  );
}

export function script(): UbsCommand[] {
  const cmds: UbsCommand[] = [1, 2, 3].map((userId) => ({ kind: "createUser", userId }));
  for (const userId of [1, 2, 3]) {
    cmds.push({ kind: "credit", userId, asset: "USDT", amount: 1_000_000_00000000n });
    cmds.push({ kind: "credit", userId, asset: "BTC", amount: 10_00000000n });
  }
  for (let i = 0; i < 200; i++) {
    const userId = (i % 3) + 1;
    const side = i % 2 === 0 ? Side.Buy : Side.Sell;
    cmds.push({
      kind: "place",
      userId,
      symbol: "BTCUSDT",
      clientOrderId: `c${i}`,
      side,
      type: i % 7 === 0 ? OrderType.Market : OrderType.Limit,
      tif: i % 7 === 0 ? TimeInForce.IOC : TimeInForce.GTC,
      priceTicks: i % 7 === 0 ? 0 : 6_000_000 + ((i * 37) % 11) - 5,
      qtyLots: 1_000 + ((i * 53) % 5_000),
      quoteUnits: 0n,
      stp: 0,
      time: 1_700_000_000_000 + i,
    });
    if (i % 5 === 4)
      cmds.push({ kind: "cancel", userId, symbol: "BTCUSDT", clientOrderId: `c${i - 3}`, time: 1 });
  }
  return cmds;
}

export async function submitAll(service: UbsCoreView, cmds: UbsCommand[]): Promise<void> {
  // Submitted concurrently, as a busy gateway would: group commit must keep them in order.
  await Promise.all(
    cmds.map((c) =>
      service.submit(c).catch((e) => {
        if (!isBourseError(e)) throw e;
      }),
    ),
  );
}

/** A BTCUSDT LIMIT GTC order of the worked examples, at time 1000 unless said. */
export function limitPlace(
  o: Partial<PlaceOrder> & Pick<PlaceOrder, "userId" | "side" | "clientOrderId">,
): PlaceOrder {
  return {
    kind: "place",
    symbol: "BTCUSDT",
    type: OrderType.Limit,
    tif: TimeInForce.GTC,
    priceTicks: 0,
    qtyLots: 0,
    quoteUnits: 0n,
    stp: 0,
    time: 1000,
    ...o,
  };
}
