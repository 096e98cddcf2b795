import { createHmac, createPrivateKey, sign as signWith } from "node:crypto";
import WebSocket from "ws";

/** A raw WebSocket API client for the tests: frames signed as Binance documents, answers by id. */
export interface Answer {
  id: string | number | null;
  status: number;
  result?: Record<string, unknown>;
  error?: { code: number; msg: string };
  rateLimits?: { rateLimitType: string; count: number }[];
}

/** A raw WebSocket API connection: frames out, answers matched by id. */
export class Connection {
  private readonly waiting = new Map<string | number | null, (a: Answer) => void>();
  readonly events: unknown[] = [];
  private nextId = 1;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as Answer & { event?: unknown };
      if (message.event !== undefined) this.events.push(message.event);
      else this.waiting.get(message.id)?.(message);
    });
  }

  static async open(tradingUrl: string): Promise<Connection> {
    const socket = new WebSocket(`${tradingUrl.replace("http", "ws")}/ws-api/v3`);
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    return new Connection(socket);
  }

  /** Sends `frame` as it is (text) and waits for the answer with `id`. */
  raw(frame: string, id: string | number | null): Promise<Answer> {
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.socket.send(frame);
    });
  }

  request(method: string, params?: Record<string, unknown>): Promise<Answer> {
    const id = this.nextId++;
    return this.raw(JSON.stringify({ id, method, ...(params ? { params } : {}) }), id);
  }

  closed(): Promise<number> {
    return new Promise((resolve) => this.socket.once("close", (code) => resolve(code)));
  }

  close(): void {
    this.socket.close();
  }
}

/** Signed as Binance documents: every parameter but the signature, sorted, `k=v&...`. */
export function signed(
  user: { apiKey: string; secretKey: string },
  params: Record<string, unknown>,
  timestamp = Date.now(),
) {
  const all: Record<string, unknown> = { ...params, apiKey: user.apiKey, timestamp };
  const payload = Object.keys(all)
    .sort()
    .map((k) => `${k}=${all[k]}`)
    .join("&");
  const signature = user.secretKey.startsWith("-----BEGIN")
    ? signWith(null, Buffer.from(payload), createPrivateKey(user.secretKey)).toString("base64")
    : createHmac("sha256", user.secretKey).update(payload).digest("hex");
  return { ...all, signature };
}
