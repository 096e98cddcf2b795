import { expect } from "vitest";
import { type Credentials, TestClient } from "../api/client.ts";

/**
 * The operator API as every suite that runs an exchange calls it: a request with the bearer
 * token, and a user with an API key and deposits (the way a real operator makes one).
 */
export interface OperatorApi {
  readonly adminUrl: string;
  readonly token: string;
}

export interface AdminReply<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
}

export async function adminRequest<T = Record<string, unknown>>(
  api: OperatorApi,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<AdminReply<T>> {
  const res = await fetch(`${api.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${api.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

export type User = TestClient & { readonly credentials: Credentials; readonly userId: number };

/** A user with an API key and the given deposits, through the operator API; a client trading as it. */
export async function newUser(
  api: OperatorApi & { readonly tradingUrl: string },
  deposits: Record<string, string> = { USDT: "100000" },
): Promise<User> {
  const created = await adminRequest<Credentials & { userId: number }>(api, "POST", "/admin/v1/users", {});
  expect(created.status).toBe(201);
  for (const [asset, amount] of Object.entries(deposits)) {
    const res = await adminRequest(api, "POST", "/admin/v1/deposits", {
      userId: created.body.userId,
      asset,
      amount,
    });
    expect(res.status).toBe(200);
  }
  return Object.assign(new TestClient(api.tradingUrl, created.body), {
    userId: created.body.userId,
  }) as User;
}
