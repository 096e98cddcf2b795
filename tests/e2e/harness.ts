import { expect } from "vitest";
import { parseUnits } from "../../components/domain/src/index.ts";
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

/** An internal transfer of alice's USDT as ccxt made it: `tranId` in the history of `type`. */
export interface Transfer {
  readonly tranId: string;
  readonly type: "MAIN_FUNDING" | "FUNDING_MAIN";
}

export class Session {
  readonly users = {} as Record<Who, User>;
  /** Every order a gateway acknowledged, by who placed it. */
  readonly acknowledged: { who: Who; orderId: string }[] = [];
  /** Every internal transfer (Spot <-> Funding) a gateway acknowledged, with its id. */
  readonly transfers: Transfer[] = [];

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
    await this.checkTransfers(clients.alice);
    const [a, b] = [
      await this.balancesOf(this.users.alice.userId),
      await this.balancesOf(this.users.bob.userId),
    ];
    const [fa, fb] = [await fundingOf(clients.alice), await fundingOf(clients.bob)];
    expect((a.USDT ?? 0n) + (b.USDT ?? 0n) + (fa.USDT ?? 0n) + (fb.USDT ?? 0n) + fees.USDT!).toBe(
      parseUnits(DEPOSITS.alice.USDT!, 8),
    );
    expect((a.BTC ?? 0n) + (b.BTC ?? 0n) + (fa.BTC ?? 0n) + (fb.BTC ?? 0n) + fees.BTC!).toBe(
      parseUnits(DEPOSITS.bob.BTC!, 8),
    );
    // Reconcile waits for settlement to reach UBSCore's position: the ledger and store are complete after it.
    const reconciled = await this.admin<{ differences: unknown[] }>("POST", "/admin/v1/reconcile", {});
    expect(reconciled.differences).toEqual([]);
    return tradeIds.alice;
  }

  /**
   * Every acknowledged transfer is in alice's history, once, and CONFIRMED. A transfer cut off by
   * a fault (the ledger's process killed mid-way) is finished by the transfer saga's recovery,
   * which may still be at work when the exchange answers again: the history is read until no
   * transfer is PENDING (the money of one in flight is in neither wallet until then).
   */
  private async checkTransfers(alice: TestClient): Promise<void> {
    const deadline = Date.now() + 120_000;
    let listed = await transferHistory(alice);
    while ([...listed.values()].includes("PENDING") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      listed = await transferHistory(alice);
    }
    for (const t of this.transfers) {
      expect(listed.get(t.tranId), `acknowledged transfer ${t.tranId} (${t.type})`).toBe("CONFIRMED");
    }
    expect(
      [...listed.values()].filter((s) => s === "PENDING"),
      "transfers never finished",
    ).toEqual([]);
  }

  /**
   * Transfer n of alice's USDT with ccxt: 2 to Funding, then 1 back, and so on (Funding only
   * grows, so no transfer is refused for want of funds whatever the faults cut short).
   */
  transferring(tradingUrl: string): (n: number) => Promise<Transfer> {
    const alice = this.ccxt("alice", tradingUrl);
    return async (n) => {
      const [amount, from, to, type] =
        n % 2 === 0
          ? [2, "spot", "funding", "MAIN_FUNDING" as const]
          : [1, "funding", "spot", "FUNDING_MAIN" as const];
      const moved = await alice.transfer("USDT", amount, from, to);
      return { tranId: String(moved.id), type };
    };
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
   * its next answer. With `transfer`, a fifth client moves funds between alice's wallets
   * meanwhile. Acknowledged orders and transfers are recorded; failed ones were never acknowledged.
   */
  async loadThenKill(
    place: (n: number) => Promise<{ who: Who; orderId: string }>,
    killAfter: number,
    kill: () => void,
    transfer?: (n: number) => Promise<Transfer>,
  ): Promise<number> {
    let acks = 0;
    let killed = false;
    let failures = 0;
    // One request: true if acknowledged. Before the kill nothing should fail; fail loudly rather than spin.
    const attempt = async <T>(next: () => Promise<T>, record: (done: T) => void): Promise<boolean> => {
      try {
        record(await next());
        return true;
      } catch (e) {
        if (++failures > 50) throw new Error(`load stalled before the fault: ${(e as Error).message}`);
        return false;
      }
    };
    const worker = <T>(next: (n: number) => Promise<T>, record: (done: T) => void, counts: boolean) => {
      let n = 0;
      return async () => {
        while (!killed) {
          const acked = await attempt(() => next(n++), record);
          if (acked && counts && ++acks === killAfter) {
            killed = true;
            kill();
          }
        }
      };
    };
    const orders = worker(place, (o) => this.acknowledged.push(o), true);
    const transfers = transfer && worker(transfer, (t) => this.transfers.push(t), false);
    await Promise.all([...Array.from({ length: 4 }, orders), ...(transfers ? [transfers()] : [])]);
    return acks;
  }
}

/** A user's transfers of both types, by id: their status, each listed once. */
async function transferHistory(client: TestClient): Promise<Map<string, string>> {
  const listed = new Map<string, string>();
  for (const type of ["MAIN_FUNDING", "FUNDING_MAIN"] as const) {
    for (let page = 1; ; page++) {
      const { body } = await client.signed<{ rows: { tranId: number; status: string }[] }>(
        "GET",
        "/sapi/v1/asset/transfer",
        { type, current: page, size: 100 },
      );
      for (const row of body.rows) {
        expect(listed.has(String(row.tranId)), `transfer ${row.tranId} listed twice`).toBe(false);
        listed.set(String(row.tranId), row.status);
      }
      if (body.rows.length < 100) break;
    }
  }
  return listed;
}

/** A user's Funding wallet, free and locked, in units. */
async function fundingOf(client: TestClient): Promise<Record<string, bigint>> {
  const { body } = await client.signed<{ asset: string; free: string; locked: string }[]>(
    "POST",
    "/sapi/v1/asset/get-funding-asset",
  );
  return Object.fromEntries(
    body.map((r) => [
      r.asset,
      parseUnits(r.free, DECIMALS[r.asset]!) + parseUnits(r.locked, DECIMALS[r.asset]!),
    ]),
  );
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
