import { generateKeyPairSync } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { loadConfig } from "../../components/config/src/load.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/embedded.ts";
import { moneyTotals } from "../support/money.ts";

/** The embedded exchange the client suites point their clients at, and its operator API. */
const ADMIN_TOKEN = "clients-operator-token-0123456789";

export interface User {
  readonly userId: number;
  readonly apiKey: string;
  /** An HMAC key's secret, or an Ed25519 key's private half as PEM (clients take either there). */
  readonly secretKey: string;
}

export type KeyType = "HMAC" | "ED25519";

export class ClientsExchange {
  private constructor(readonly exchange: EmbeddedExchange) {}

  static async start(): Promise<ClientsExchange> {
    const dataDir = await mkdtemp(join(tmpdir(), "bourse-clients-"));
    const config = await loadConfig({
      overrides: {
        dataDir,
        demo: false,
        verify: true,
        gateway: { port: 0, adminPort: 0, adminToken: ADMIN_TOKEN },
      },
    });
    return new ClientsExchange(await startEmbeddedExchange(config, false));
  }

  get tradingUrl(): string {
    return this.exchange.tradingUrl;
  }

  async admin<T>(path: string, body: unknown): Promise<T> {
    const res = await this.adminPost(path, body);
    expect(res.ok, `${path}: ${res.status}`).toBe(true);
    return (await res.json()) as T;
  }

  /** An operator API POST, its answer as it came. */
  adminPost(path: string, body: unknown): Promise<Response> {
    return fetch(`${this.exchange.adminUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  async fundedUser(deposits: Record<string, string>, keyType: KeyType = "HMAC"): Promise<User> {
    let user = await this.admin<User>("/admin/v1/users", {});
    if (keyType === "ED25519") user = await this.ed25519Key(user.userId);
    for (const [asset, amount] of Object.entries(deposits))
      await this.admin("/admin/v1/deposits", { userId: user.userId, asset, amount });
    return user;
  }

  /** A key pair made here, as a user would make one; the operator API registers its public half. */
  async ed25519Key(userId: number): Promise<User> {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const { apiKey } = await this.admin<{ apiKey: string }>(`/admin/v1/users/${userId}/api-keys`, {
      type: "ED25519",
      publicKey: publicKey.export({ type: "spki", format: "pem" }),
    });
    return { userId, apiKey, secretKey: privateKey.export({ type: "pkcs8", format: "pem" }) as string };
  }

  /** Each asset's money, as every in-process suite counts it (tests/support/money.ts): moves only by deposits. */
  totals(): Promise<bigint[]> {
    return moneyTotals(this.exchange);
  }

  /** `totals()` after depositing `deposits` on top of `before`. */
  totalsAfter(before: readonly bigint[], deposits: Record<string, bigint>): bigint[] {
    const core = this.exchange.service.core;
    return core.exchange.assets.map((a) => before[a.id - 1]! + (deposits[a.symbol] ?? 0n));
  }

  close(): Promise<void> {
    return this.exchange.close();
  }
}
