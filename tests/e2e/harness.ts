import { expect } from "vitest";
import { parseUnits } from "../../components/domain/src/decimal.ts";
import { type Credentials, ccxtBinance, TestClient } from "../api/client.ts";

/**
 * What the end-to-end suites share, whether the exchange runs as local processes
 * (multi-process.test.ts) or in a cluster (cluster.test.ts): users funded through the operator
 * API, a real Binance client (ccxt), a record of every acknowledged order, and the invariants.
 */
export type Who = "alice" | "bob";
export type User = Credentials & { userId: number };
const DECIMALS: Record<string, number> = { BTC: 8, ETH: 8, USDT: 8 };
/** Enough for thousands of 0.01 BTC orders at ~60,000 USDT, however the faults interleave. */
export const DEPOSITS: Record<Who, Record<string, string>> = {
  alice: { USDT: "100000000" },
  bob: { BTC: "2000" },
};

export class Session {
  readonly users = {} as Record<Who, User>;
  /** Every order a gateway acknowledged, by who placed it. */
  readonly acknowledged: { who: Who; orderId: string }[] = [];

  constructor(
    readonly adminUrl: string,
    private readonly adminToken: string,
  ) {}

  async admin<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  /** Creates alice (USDT) and bob (BTC) with their deposits, through the operator API. */
  async createUsers(): Promise<void> {
    for (const who of ["alice", "bob"] as const) {
      const user = await this.admin<User>("POST", "/admin/v1/users", {});
      for (const [asset, amount] of Object.entries(DEPOSITS[who])) {
        await this.admin("POST", "/admin/v1/deposits", { userId: user.userId, asset, amount });
      }
      this.users[who] = user;
    }
  }

  ccxt(who: Who, tradingUrl: string) {
    return ccxtBinance(this.users[who], tradingUrl);
  }

  async balancesOf(userId: number): Promise<Record<string, bigint>> {
    const rows = await this.admin<{ asset: string; free: string; locked: string }[]>(
      "GET",
      `/admin/v1/users/${userId}/balances`,
    );
    return Object.fromEntries(
      rows.map((r) => [
        r.asset,
        parseUnits(r.free, DECIMALS[r.asset]!) + parseUnits(r.locked, DECIMALS[r.asset]!),
      ]),
    );
  }

  /**
   * Through `tradingUrl`: every acknowledged order is there; no trade is listed twice; each
   * asset's total over users plus the fees charged equals the deposits, to the unit; reconcile
   * reports no difference. Returns alice's trade ids (for a check of the history store).
   */
  async checkInvariants(tradingUrl: string): Promise<Set<string>> {
    const clients = {
      alice: new TestClient(tradingUrl, this.users.alice),
      bob: new TestClient(tradingUrl, this.users.bob),
    };
    for (const { who, orderId } of this.acknowledged) {
      const order = await clients[who].signed("GET", "/api/v3/order", { symbol: "BTCUSDT", orderId });
      expect(order.status, `acknowledged order ${orderId} of ${who}`).toBe(200);
    }
    const fees: Record<string, bigint> = { BTC: 0n, USDT: 0n, ETH: 0n };
    const tradeIds: Record<Who, Set<string>> = { alice: new Set(), bob: new Set() };
    for (const who of ["alice", "bob"] as const) {
      const trades = await clients[who].signed<{ id: number; commission: string; commissionAsset: string }[]>(
        "GET",
        "/api/v3/myTrades",
        { symbol: "BTCUSDT", limit: 1000 },
      );
      for (const t of trades.body) {
        expect(tradeIds[who].has(String(t.id)), `trade ${t.id} of ${who} listed twice`).toBe(false);
        tradeIds[who].add(String(t.id));
        fees[t.commissionAsset] =
          (fees[t.commissionAsset] ?? 0n) + parseUnits(t.commission, DECIMALS[t.commissionAsset]!);
      }
    }
    const [a, b] = [
      await this.balancesOf(this.users.alice.userId),
      await this.balancesOf(this.users.bob.userId),
    ];
    expect((a.USDT ?? 0n) + (b.USDT ?? 0n) + fees.USDT!).toBe(parseUnits(DEPOSITS.alice.USDT!, 8));
    expect((a.BTC ?? 0n) + (b.BTC ?? 0n) + fees.BTC!).toBe(parseUnits(DEPOSITS.bob.BTC!, 8));
    // Reconcile waits for settlement to reach UBSCore's position: the ledger and store are complete after it.
    const reconciled = await this.admin<{ differences: unknown[] }>("POST", "/admin/v1/reconcile", {});
    expect(reconciled.differences).toEqual([]);
    return tradeIds.alice;
  }

  /** Order n: alternately a sell from bob on one gateway and a crossing buy from alice on another. */
  crossingOrders(sellerUrl: string, buyerUrl: string): (n: number) => Promise<{ who: Who; orderId: string }> {
    const seller = this.ccxt("bob", sellerUrl);
    const buyer = this.ccxt("alice", buyerUrl);
    return async (n) =>
      n % 2 === 0
        ? {
            who: "bob",
            orderId: (await seller.createLimitSellOrder("BTC/USDT", 0.01, 59000 + (n % 100))).id!,
          }
        : {
            who: "alice",
            orderId: (await buyer.createLimitBuyOrder("BTC/USDT", 0.01, 61000 - (n % 100))).id!,
          };
  }

  /**
   * Steady order load from four concurrent clients until `kill` has run (after `killAfter`
   * acknowledgements): the other clients' orders are in flight when it does; each client stops at
   * its next answer. Acknowledged orders are recorded; failed ones were never acknowledged.
   */
  async loadThenKill(
    place: (n: number) => Promise<{ who: Who; orderId: string }>,
    killAfter: number,
    kill: () => void,
  ): Promise<number> {
    let acks = 0;
    let n = 0;
    let killed = false;
    let failures = 0;
    const worker = async () => {
      while (!killed) {
        try {
          this.acknowledged.push(await place(n++));
        } catch (e) {
          // Before the kill nothing should fail; fail loudly rather than spin.
          if (++failures > 50)
            throw new Error(`order load stalled before the fault: ${(e as Error).message}`);
          continue;
        }
        if (++acks === killAfter) {
          killed = true;
          kill();
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    return acks;
  }
}

/** The opening trade both suites run: bob sells on one gateway, alice buys on another. */
export async function crossTrade(session: Session, sellerUrl: string, buyerUrl: string): Promise<void> {
  const seller = session.ccxt("bob", sellerUrl);
  const buyer = session.ccxt("alice", buyerUrl);
  await seller.loadMarkets();
  await buyer.loadMarkets();
  for (let i = 0; i < 5; i++) {
    const o = await seller.createLimitSellOrder("BTC/USDT", 0.1, 60000 + i * 10);
    session.acknowledged.push({ who: "bob", orderId: o.id! });
  }
  const bought = await buyer.createMarketBuyOrder("BTC/USDT", 0.25);
  session.acknowledged.push({ who: "alice", orderId: bought.id! });
  expect(bought.filled).toBe(0.25);
  expect((await buyer.fetchOrderBook("BTC/USDT")).asks[0]).toEqual([60020, 0.05]);
}
