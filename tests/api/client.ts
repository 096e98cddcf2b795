import ccxt from "ccxt";
import WebSocket from "ws";
import { sign } from "../../components/gateway/src/index.ts";

/** ccxt's Binance class pointed at a Bourse trading API (spot only, no wallet-wide calls Bourse lacks). */
export function ccxtBinance(credentials: Credentials, tradingUrl: string) {
  return onBourse(new ccxt.binance(ccxtOptions(credentials)), tradingUrl);
}

/**
 * ccxt.pro's Binance class (REST and WebSocket) pointed at a Bourse trading API. On a plain
 * ws:// URL ccxt.pro wants its HTTP agent loaded first (it asks for that itself).
 */
export async function ccxtProBinance(credentials: Credentials, tradingUrl: string) {
  const client = onBourse(new ccxt.pro.binance(ccxtOptions(credentials)), tradingUrl);
  // Every WebSocket URL too (market streams on /ws, the WebSocket API on /ws-api/v3).
  const ws = (client.urls.api as unknown as { ws: Record<string, string | Record<string, string>> }).ws;
  const wsBase = tradingUrl.replace(/^http/, "ws");
  const move = (urls: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(urls)) {
      if (typeof v === "string") urls[k] = v.replace(/^wss:\/\/[^/]+/, wsBase);
      else move(v as Record<string, unknown>);
    }
  };
  move(ws);
  if (wsBase.startsWith("ws:")) await client.loadHttpProxyAgent();
  return client;
}

function ccxtOptions(credentials: Credentials) {
  return {
    apiKey: credentials.apiKey,
    secret: credentials.secretKey,
    options: {
      fetchMarkets: { types: ["spot"] },
      fetchCurrencies: false,
      fetchMargins: false,
      defaultType: "spot",
    },
  };
}

/**
 * Every REST URL on Bourse's host, paths kept (/api/v3, /sapi/v1, /sapi/v3, ...): a call Bourse
 * does not serve is answered 404 here rather than sent anywhere else.
 */
function onBourse<T extends { urls: { api: unknown } }>(client: T, tradingUrl: string): T {
  const api = client.urls.api as Record<string, unknown>;
  for (const [k, v] of Object.entries(api))
    if (typeof v === "string") api[k] = v.replace(/^https:\/\/[^/]+/, tradingUrl);
  return client;
}

/** A minimal Binance-style client for the API tests: signs exactly as Binance documents. */
export interface Credentials {
  readonly apiKey: string;
  readonly secretKey: string;
}

export interface Reply<T = unknown> {
  readonly status: number;
  readonly body: T;
}

export class TestClient {
  constructor(
    readonly baseUrl: string,
    readonly credentials?: Credentials,
  ) {}

  async public<T = unknown>(path: string, query: Record<string, string | number> = {}): Promise<Reply<T>> {
    const qs = new URLSearchParams(stringify(query)).toString();
    const res = await fetch(`${this.baseUrl}${path}${qs ? `?${qs}` : ""}`);
    return { status: res.status, body: (await res.json()) as T };
  }

  /** A SIGNED request; parameters go in the query string (GET/DELETE) or the form body (POST). */
  async signed<T = unknown>(
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    params: Record<string, string | number> = {},
    options: { timestamp?: number; tamper?: (payload: string) => string } = {},
  ): Promise<Reply<T>> {
    const creds = this.credentials!;
    const payload = new URLSearchParams({
      ...stringify(params),
      timestamp: String(options.timestamp ?? Date.now()),
    }).toString();
    const signed = `${options.tamper ? options.tamper(payload) : payload}&signature=${sign(creds.secretKey, payload)}`;
    return this.raw<T>(method, path, signed);
  }

  async raw<T = unknown>(
    method: string,
    path: string,
    payload: string,
    headers: Record<string, string> = {},
  ): Promise<Reply<T>> {
    const inBody = method === "POST";
    const res = await fetch(`${this.baseUrl}${path}${inBody ? "" : `?${payload}`}`, {
      method,
      headers: {
        ...(this.credentials ? { "X-MBX-APIKEY": this.credentials.apiKey } : {}),
        ...(inBody ? { "content-type": "application/x-www-form-urlencoded" } : {}),
        ...headers,
      },
      body: inBody ? payload : undefined,
    });
    return { status: res.status, body: (await res.json()) as T };
  }
}

function stringify(o: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));
}

/** A LIMIT GTC order on BTCUSDT as the signed form takes it. */
export function limitOrder(side: "BUY" | "SELL", quantity: string, price: string, symbol = "BTCUSDT") {
  return { symbol, side, type: "LIMIT", timeInForce: "GTC", quantity, price };
}

/** The user's [free, locked] of `asset`, as GET /api/v3/account says (zeros for one never held). */
export async function assetBalance(client: TestClient, asset: string): Promise<[string, string]> {
  const { body } = await client.signed<{ balances: { asset: string; free: string; locked: string }[] }>(
    "GET",
    "/api/v3/account",
  );
  const b = body.balances.find((x) => x.asset === asset);
  return [b?.free ?? "0.00000000", b?.locked ?? "0.00000000"];
}

/** The user's stream (a listen key's socket), every event it has received, and a wait for executionReports. */
export async function userStream(tradingUrl: string, client: TestClient) {
  const key = (await client.raw<{ listenKey: string }>("POST", "/api/v3/userDataStream", "")).body.listenKey;
  const socket = new WebSocket(`${tradingUrl.replace("http", "ws")}/ws/${key}`);
  const messages: Record<string, unknown>[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(String(data))));
  await new Promise((resolve) => socket.once("open", resolve));
  const reports = async (n: number) => {
    const of = () => messages.filter((m) => m.e === "executionReport");
    for (let i = 0; i < 300 && of().length < n; i++) await new Promise((r) => setTimeout(r, 10));
    return of();
  };
  return { socket, reports, messages };
}
