import { describe, expect, it } from "vitest";
import { BourseError } from "../../domain/src/index.ts";
import { RpcClient, RpcServer } from "../src/rpc.ts";
import { tcpTransport } from "../src/tcp.ts";

describe("request and response over the transport", () => {
  it("answers calls with exact values, errors with their code, and pushes to every client", async () => {
    const server = await RpcServer.listen(tcpTransport, "127.0.0.1:0", {
      double: (n: bigint) => n * 2n,
      refuse: () => {
        throw new BourseError("CONFLICT", "not that");
      },
    });
    const pushed: unknown[] = [];
    const client = await RpcClient.connect(tcpTransport, server.address, (v) => pushed.push(v));
    expect(await client.call("double", 2n ** 100n)).toBe(2n ** 101n);
    await expect(client.call("refuse")).rejects.toMatchObject({ code: "CONFLICT", message: "not that" });
    await expect(client.call("toString")).rejects.toMatchObject({ code: "INTERNAL" });
    server.push({ settled: 7 });
    await expect.poll(() => pushed).toEqual([{ settled: 7 }]);
    client.close();
    await server.close();
  });

  it("drops a peer that sends what is not a message, and goes on serving the others", async () => {
    const server = await RpcServer.listen(tcpTransport, "127.0.0.1:0", { ping: () => "pong" });
    const rogue = await tcpTransport.connect(server.address);
    const closed = new Promise<void>((resolve) => rogue.onClose(() => resolve()));
    rogue.send(new TextEncoder().encode("{not json"));
    await closed;
    const client = await RpcClient.connect(tcpTransport, server.address);
    expect(await client.call("ping")).toBe("pong");
    client.close();
    await server.close();
  });

  it("sends unanswered calls again once the server is back", async () => {
    let calls = 0;
    const first = await RpcServer.listen(tcpTransport, "127.0.0.1:0", { slow: () => new Promise(() => {}) });
    const client = await RpcClient.connect(tcpTransport, first.address);
    const answer = client.call<number>("slow");
    await first.close();
    const second = await RpcServer.listen(tcpTransport, first.address, { slow: () => ++calls });
    expect(await answer).toBe(1);
    client.close();
    await second.close();
  });
});
