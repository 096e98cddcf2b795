import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { KubeClient } from "../src/kube-client.ts";

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

/** A client of an API server that answers requests with `answer` (which may never answer). */
async function clientOf(answer: Parameters<typeof createServer>[1], idleTimeoutMs: number) {
  server = createServer(answer);
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      {
        name: "c",
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: "u" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return new KubeClient(config, idleTimeoutMs);
}

describe("KubeClient", () => {
  it("fails a request the API server never answers, instead of waiting for ever", async () => {
    const kube = await clientOf(() => {}, 200);
    await expect(kube.get("/api/v1/namespaces/default/configmaps/x")).rejects.toMatchObject({
      reason: "Timeout",
    });
  });

  it("fails a request whose answer stops half way", async () => {
    const kube = await clientOf((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"kind":');
    }, 200);
    await expect(kube.get("/api/v1/namespaces/default/configmaps/x")).rejects.toThrow();
  });

  it("reads an answer that comes in time", async () => {
    const kube = await clientOf((_req, res) => {
      setTimeout(() => res.end('{"kind":"ConfigMap"}'), 50);
    }, 1_000);
    expect(await kube.get("/api/v1/namespaces/default/configmaps/x")).toEqual({ kind: "ConfigMap" });
  });
});
