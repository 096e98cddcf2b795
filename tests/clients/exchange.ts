import { generateKeyPairSync } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { loadConfig } from "../../components/config/src/index.ts";
import { DEMO_EXCHANGE, ExchangeDefinition, parseUnits } from "../../components/domain/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { TestClient } from "../api/client.ts";
import { LocalExchange, type LocalInfrastructure, startLocalInfrastructure } from "../e2e/local-exchange.ts";
import { TEST_GATEWAY_THREADS } from "../support/gateway-threads.ts";

/**
 * The exchange the client suites point their clients at, in either layout: the embedded exchange
 * (`bourse start`'s one process) or the multi-process layout with two gateways. Each suite runs
 * unchanged over both (`LAYOUTS`).
 */
export interface User {
  readonly userId: number;
  readonly apiKey: string;
  /** An HMAC key's secret, or an Ed25519 key's private half as PEM (clients take either there). */
  readonly secretKey: string;
}

export type KeyType = "HMAC" | "ED25519";

/** What the suites see of an exchange: its trading URLs, its operator API and its money. */
export interface ClientsExchange {
  /** Where REST clients (and the first of two clients) go: the first gateway. */
  readonly tradingUrl: string;
  /**
   * Where a second client, a stream or the other use of a listen key goes, as a load balancer
   * would alternate: the second gateway (the embedded exchange has one).
   */
  readonly otherUrl: string;
  admin<T>(path: string, body: unknown): Promise<T>;
  /** An operator API POST, its answer as it came. */
  adminPost(path: string, body: unknown): Promise<Response>;
  /** A user with an HMAC (default) or Ed25519 key, its deposits credited to its Spot wallet. */
  fundedUser(deposits: Record<string, string>, keyType?: KeyType): Promise<User>;
  /** Each asset's total over every trading account there is (users' free and frozen, fees). */
  totals(): Promise<bigint[]>;
  /**
   * Money conserved to the unit: `totals()` is `before` plus `deposits` (in base units), and a
   * reconcile finds UBSCore and the ledger equal, account by account.
   */
  expectConserved(before: readonly bigint[], deposits: Record<string, bigint>): Promise<void>;
  close(): Promise<void>;
}

const exchangeDef = new ExchangeDefinition(DEMO_EXCHANGE);

const equal = (a: readonly bigint[], b: readonly bigint[]) => a.every((x, i) => x === b[i]);

/** The operator API (the same in both layouts) and the users made through it. */
abstract class OperatorClients implements ClientsExchange {
  /** Every user made here, with the HMAC key the operator API made it with. */
  protected readonly users: User[] = [];
  abstract readonly tradingUrl: string;
  abstract readonly otherUrl: string;

  constructor(
    private readonly adminUrl: string,
    private readonly token: string,
  ) {}

  abstract totals(): Promise<bigint[]>;
  abstract close(): Promise<void>;

  async admin<T>(path: string, body: unknown): Promise<T> {
    const res = await this.adminPost(path, body);
    expect(res.ok, `${path}: ${res.status}`).toBe(true);
    return (await res.json()) as T;
  }

  adminPost(path: string, body: unknown): Promise<Response> {
    return this.adminCall("POST", path, body);
  }

  protected adminCall(method: "GET" | "POST", path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async fundedUser(deposits: Record<string, string>, keyType: KeyType = "HMAC"): Promise<User> {
    const made = await this.admin<User>("/admin/v1/users", {});
    this.users.push(made);
    const user = keyType === "ED25519" ? await this.ed25519Key(made.userId) : made;
    for (const [asset, amount] of Object.entries(deposits))
      await this.admin("/admin/v1/deposits", { userId: user.userId, asset, amount });
    return user;
  }

  /** A key pair made here, as a user would make one; the operator API registers its public half. */
  private async ed25519Key(userId: number): Promise<User> {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const { apiKey } = await this.admin<{ apiKey: string }>(`/admin/v1/users/${userId}/api-keys`, {
      type: "ED25519",
      publicKey: publicKey.export({ type: "spki", format: "pem" }),
    });
    return { userId, apiKey, secretKey: privateKey.export({ type: "pkcs8", format: "pem" }) as string };
  }

  async expectConserved(before: readonly bigint[], deposits: Record<string, bigint>): Promise<void> {
    const after = exchangeDef.assets.map((a, i) => before[i]! + (deposits[a.symbol] ?? 0n));
    // A gateway's replica applies UBSCore's stream a moment after UBSCore answered: the trades
    // (and their fees) read through it may lag the balances for that moment, never longer.
    let totals = await this.totals();
    for (let tries = 0; tries < 20 && !equal(totals, after); tries++) {
      await new Promise((r) => setTimeout(r, 250));
      totals = await this.totals();
    }
    expect(totals).toEqual(after);
    const reconciled = await this.admin<{ differences: unknown[] }>("/admin/v1/reconcile", {});
    expect(reconciled.differences).toEqual([]);
  }
}

const EMBEDDED_TOKEN = "clients-operator-token-0123456789";

/** `bourse start`'s exchange in this process: the totals read from UBSCore's core itself. */
class EmbeddedClients extends OperatorClients {
  private constructor(private readonly exchange: EmbeddedExchange) {
    super(exchange.adminUrl, EMBEDDED_TOKEN);
  }

  /** `threads`: gateway.threads (the trading API on that many worker threads). */
  static async start(threads?: number): Promise<ClientsExchange> {
    const dataDir = await mkdtemp(join(tmpdir(), "bourse-clients-"));
    const config = await loadConfig({
      overrides: {
        dataDir,
        demo: false,
        verify: true,
        gateway: { port: 0, adminPort: 0, adminToken: EMBEDDED_TOKEN, threads },
      },
    });
    return new EmbeddedClients(await startEmbeddedExchange(config, false));
  }

  get tradingUrl(): string {
    return this.exchange.tradingUrl;
  }

  get otherUrl(): string {
    return this.exchange.tradingUrl;
  }

  async totals(): Promise<bigint[]> {
    const core = this.exchange.service.core;
    return core.exchange.assets.map((a) => core.totalOf(a.id));
  }

  close(): Promise<void> {
    return this.exchange.close();
  }
}

/**
 * The multi-process layout (UBSCore, matching, settlement and two gateways, each its own process,
 * on real Kafka, Cassandra and the Aeron media driver), seen only from outside: the totals are
 * the operator API's balances of every user made here plus the fees their trades report.
 */
class ProcessesClients extends OperatorClients {
  private constructor(
    private readonly infra: LocalInfrastructure,
    private readonly exchange: LocalExchange,
  ) {
    super(exchange.session.adminUrl, exchange.env.BOURSE_ADMIN_TOKEN!);
  }

  static async start(): Promise<ClientsExchange> {
    const infra = await startLocalInfrastructure();
    try {
      return new ProcessesClients(
        infra,
        await LocalExchange.start({ gateways: 2, keyspace: "clients", ...infra }),
      );
    } catch (e) {
      await infra.stop();
      throw e;
    }
  }

  get tradingUrl(): string {
    return this.exchange.url(0);
  }

  get otherUrl(): string {
    return this.exchange.url(1);
  }

  async totals(): Promise<bigint[]> {
    const totals = exchangeDef.assets.map(() => 0n);
    const add = (asset: string, amount: string) => {
      const a = exchangeDef.asset(asset)!;
      totals[a.id - 1]! += parseUnits(amount, a.decimals);
    };
    for (const user of this.users) {
      const res = await this.adminCall("GET", `/admin/v1/users/${user.userId}/balances`);
      expect(res.status).toBe(200);
      for (const b of (await res.json()) as { asset: string; free: string; locked: string }[]) {
        add(b.asset, b.free);
        add(b.asset, b.locked);
      }
      for (const t of await this.tradesOf(user)) add(t.commissionAsset, t.commission);
    }
    return totals;
  }

  /** Every trade of `user` in every market, read through the second gateway. */
  private async tradesOf(user: User): Promise<{ commission: string; commissionAsset: string }[]> {
    const client = new TestClient(this.otherUrl, user);
    const trades = [];
    for (const m of exchangeDef.markets) {
      const res = await client.signed<{ commission: string; commissionAsset: string }[]>(
        "GET",
        "/api/v3/myTrades",
        { symbol: m.symbol, limit: 1000 },
      );
      expect(res.status).toBe(200);
      trades.push(...res.body);
    }
    return trades;
  }

  async close(): Promise<void> {
    this.exchange.stop();
    await Promise.all(
      [...this.exchange.gateways, this.exchange.ubscore, this.exchange.matching].map((r) => r.exited),
    );
    await this.infra.stop();
  }
}

export const startEmbedded = (): Promise<ClientsExchange> => EmbeddedClients.start();

const LAYOUTS: [string, () => Promise<ClientsExchange>][] = [
  ["the embedded exchange", startEmbedded],
  [
    `the embedded exchange on ${TEST_GATEWAY_THREADS} gateway thread(s)`,
    () => EmbeddedClients.start(TEST_GATEWAY_THREADS),
  ],
  ["the multi-process layout (two gateways)", () => ProcessesClients.start()],
];

/**
 * `suite` once on each layout, as `<title>, on <layout>`: the layout started once for all of the
 * suite's tests (each reads it with `exchange()`) and stopped after them.
 */
export function onEachLayout(title: string, suite: (exchange: () => ClientsExchange) => void): void {
  describe.each(LAYOUTS)(`${title}, on %s`, (_layout, start) => {
    let exchange: ClientsExchange | undefined;
    // The multi-process layout starts Cassandra, Kafka and the media driver first.
    beforeAll(async () => {
      exchange = await start();
    }, 600_000);
    afterAll(async () => {
      await exchange?.close();
    });
    suite(() => exchange!);
  });
}
