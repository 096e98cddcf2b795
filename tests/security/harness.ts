import { mkdtemp, readdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { BourseConfig } from "../../components/config/src/index.ts";
import { loadConfig } from "../../components/config/src/index.ts";
import { stringifyExact } from "../../components/domain/src/index.ts";
import { type EmbeddedExchange, startEmbeddedExchange } from "../../components/exchange/src/index.ts";
import { sign } from "../../components/gateway/src/index.ts";
import { limitOrder } from "../api/client.ts";
import { type AdminReply, adminRequest, newUser as createUser, type User } from "../support/operator-api.ts";

export type { AdminReply, User };

/**
 * The attacker suite's exchange: embedded, on loopback, with a known operator token, and a way to
 * read everything an attack must not change (balances, orders, the journal's replay, the ledger).
 */
export const TOKEN = "security-suite-operator-token-0";

export type Overrides = Record<string, unknown>;

export async function freshDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "bourse-attack-"));
}

export async function exchangeConfig(dataDir: string, overrides: Overrides = {}): Promise<BourseConfig> {
  const gateway = (overrides.gateway as Overrides | undefined) ?? {};
  return loadConfig({
    overrides: {
      ...overrides,
      dataDir,
      demo: false,
      gateway: { port: 0, adminPort: 0, adminToken: TOKEN, ...gateway },
    },
  });
}

export async function startExchange(dataDir: string, overrides: Overrides = {}): Promise<EmbeddedExchange> {
  return startEmbeddedExchange(await exchangeConfig(dataDir, overrides), false);
}

/** The operator API with the suite's token (tests/support/operator-api.ts). */
export function admin<T = Record<string, unknown>>(
  adminUrl: string,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<AdminReply<T>> {
  return adminRequest<T>({ adminUrl, token: TOKEN }, method, path, body, headers);
}

/** A user with an API key and the given deposits (100,000 USDT unless told). */
export function newUser(
  exchange: { adminUrl: string; tradingUrl: string },
  deposits?: Record<string, string>,
): Promise<User> {
  return createUser({ ...exchange, token: TOKEN }, deposits);
}

/** A LIMIT GTC buy far below the market: it rests, so it shows in open orders. */
export function restingBuy(price = "30000", clientId?: string): Record<string, string> {
  return { ...limitOrder("BUY", "0.001", price), ...(clientId ? { newClientOrderId: clientId } : {}) };
}

/** A signed order as captured on the wire (recvWindow 60000): the form body, its signature. */
export function capturedOrder(user: { credentials: { secretKey: string } }, clientId: string) {
  const payload = new URLSearchParams({
    ...restingBuy("31000", clientId),
    recvWindow: "60000",
    timestamp: String(Date.now()),
  }).toString();
  return { payload, signature: sign(user.credentials.secretKey, payload) };
}

/** What no refused attack may change: every user's balances and open orders, the next order id. */
export function stateOf(exchange: EmbeddedExchange): string {
  const core = exchange.service.core;
  return stringifyExact({
    users: core.userIds().map((id) => ({
      id,
      balances: core.balancesOf(id),
      open: core.openOrders(id).map((o) => ({ ...o })),
    })),
    fees: core.fees,
  });
}

/** UBSCore agrees with the ledger, unit for unit. */
export async function expectReconciled(exchange: EmbeddedExchange): Promise<void> {
  const result = await exchange.reconcile();
  expect(result.differences).toEqual([]);
}

/**
 * Restarts the exchange on its data (snapshot + journal replay) and checks that the state it
 * replays is the state it had: refused attacks left nothing in the journal that replays otherwise.
 */
export async function restartReplaying(
  exchange: EmbeddedExchange,
  dataDir: string,
  overrides: Overrides = {},
): Promise<EmbeddedExchange> {
  const before = stateOf(exchange);
  await exchange.close();
  const restarted = await startExchange(dataDir, overrides);
  expect(stateOf(restarted)).toBe(before);
  return restarted;
}

export interface FileMode {
  readonly path: string;
  readonly dir: boolean;
  readonly mode: number;
}

/** Every directory and file under `dir` (itself included), with its permission bits. */
export async function fileModes(dir: string): Promise<FileMode[]> {
  const out = [{ path: dir, dir: true, mode: (await stat(dir)).mode & 0o777 }];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await fileModes(path)));
    else out.push({ path, dir: false, mode: (await stat(path)).mode & 0o777 });
  }
  return out;
}

/** Anything but a 0700 directory or a 0600 file: readable (or more) by someone else. */
export const notPrivate = (f: FileMode) => (f.dir ? f.mode !== 0o700 : f.mode !== 0o600);
