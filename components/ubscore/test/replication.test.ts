import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OrderType, Side } from "../../matching/src/index.ts";
import { tcpTransport } from "../../transport/src/index.ts";
import { ReplicationServer, UbsCoreReplica } from "../src/replication.ts";
import { UbsCoreService } from "../src/service.ts";
import type { UbsCommand } from "../src/types.ts";
import { dump, exchange, script, submitAll } from "./fixtures.ts";

async function primary() {
  const service = await UbsCoreService.open(await mkdtemp(join(tmpdir(), "bourse-repl-")), exchange);
  const events = [{ kind: "hello" }];
  const server = new ReplicationServer(service, { double: async (n: number) => n * 2 }, () => events);
  const listening = await tcpTransport.listen("127.0.0.1:0", (ch) => server.accept(ch));
  return { service, server, listening };
}

/** An amend of an order that does not exist: a gateway may send it; the core refuses it by its rules. */
const AMEND: UbsCommand = {
  kind: "amend",
  userId: 1,
  symbol: "BTCUSDT",
  orderId: 999,
  newClientOrderId: "a",
  newQtyLots: 1,
  time: 1,
};

/** Commands a trading client cannot ask for: a replica (a gateway) refuses each. */
const GATEWAY_FORBIDDEN: UbsCommand[] = [
  { kind: "createUser", userId: 4 },
  { kind: "credit", userId: 1, asset: "BTC", amount: 10n ** 14n },
  { kind: "debit", userId: 1, asset: "BTC", amount: 1n },
  { kind: "holdWithdrawal", withdrawalId: "w", userId: 1, asset: "BTC", amount: 1n },
  { kind: "completeWithdrawal", withdrawalId: "w" },
  { kind: "transferIn", transferSeq: 1, userId: 1, asset: "BTC", amount: 1n },
  { kind: "halt", symbol: "BTCUSDT" },
  { kind: "resume", symbol: "BTCUSDT" },
  { kind: "matched", marketId: 1, seq: 1, events: new Uint8Array(0) },
];

/** A replica of the primary listening at `address`, ignoring the events it broadcasts. */
async function replicaOf(address: string): Promise<UbsCoreReplica> {
  return UbsCoreReplica.open(await tcpTransport.connect(address), exchange, () => {});
}

describe("UBSCore replication over the transport", () => {
  it("keeps a replica identical to the primary: snapshot at subscribe, then every applied command", async () => {
    const { service, server, listening } = await primary();
    const cmds = script();
    // Half before the replica subscribes (it starts from a snapshot), half after.
    await submitAll(service, cmds.slice(0, cmds.length / 2));
    const events: unknown[] = [];
    const replica = await UbsCoreReplica.open(await tcpTransport.connect(listening.address), exchange, (e) =>
      events.push(e),
    );
    expect(replica.appliedLsn).toBe(service.appliedLsn);
    const seen: number[] = [];
    replica.onCommand((_cmd, _result, lsn) => seen.push(lsn));
    // The rest through the replica itself, concurrently, as a gateway would send them.
    await submitAll(replica, cmds.slice(cmds.length / 2));
    expect(replica.appliedLsn).toBe(service.appliedLsn);
    expect(dump(replica.core)).toBe(dump(service.core));
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    server.broadcast({ kind: "later" });
    await expect(replica.call<number>("double", 21)).resolves.toBe(42);
    expect(events).toEqual([{ kind: "hello" }, { kind: "later" }]);
    replica.close();
    await listening.close();
    await service.close();
  });

  it("answers a submit with the primary's result, and a rejection with its code", async () => {
    const { service, listening } = await primary();
    const replica = await replicaOf(listening.address);
    await service.submit({ kind: "createUser", userId: 1 });
    await service.submit({ kind: "credit", userId: 1, asset: "USDT", amount: 5n });
    // A limit buy: it would freeze far more than the 5 units user 1 holds.
    const place = script().find(
      (c) => c.kind === "place" && c.type === OrderType.Limit && c.side === Side.Buy,
    )!;
    await expect(replica.submit({ ...place, userId: 1 } as UbsCommand)).rejects.toMatchObject({
      code: "INSUFFICIENT_BALANCE",
    });
    // Every order command a trading client can send reaches the core (here refused by its rules).
    await expect(replica.submit(AMEND)).rejects.toMatchObject({ code: "UNKNOWN_ORDER" });
    await expect(replica.call("nope")).rejects.toMatchObject({ code: "INTERNAL" });
    expect(replica.core.balancesOf(1)).toEqual(service.core.balancesOf(1));
    replica.close();
    await listening.close();
    await service.close();
  });

  it("refuses a replica (a gateway) every command a trading client cannot ask for, changing nothing", async () => {
    const { service, listening } = await primary();
    await submitAll(service, script().slice(0, 9));
    const replica = await replicaOf(listening.address);
    const lsn = service.lastLsn;
    const before = dump(service.core);
    for (const cmd of GATEWAY_FORBIDDEN) {
      await expect(replica.submit(cmd), cmd.kind).rejects.toMatchObject({ code: "FORBIDDEN" });
    }
    expect(service.lastLsn).toBe(lsn);
    expect(dump(service.core)).toBe(before);
    replica.close();
    await listening.close();
    await service.close();
  });

  it("drops a peer whose messages do not decode, and serves the others on", async () => {
    const { service, listening } = await primary();
    for (const junk of [[7, 1, 2], [4, 0, 0, 0, 0, 0, 0, 0, 0, 255], [99]]) {
      const rogue = await tcpTransport.connect(listening.address);
      const closed = new Promise<void>((resolve) => rogue.onClose(() => resolve()));
      rogue.send(Uint8Array.from(junk));
      await closed;
    }
    const replica = await replicaOf(listening.address);
    expect(await replica.call("double", 21)).toBe(42);
    await expect(replica.call("constructor")).rejects.toMatchObject({ code: "INTERNAL" });
    replica.close();
    await listening.close();
    await service.close();
  });

  it("fails pending requests and ends when the primary goes away", async () => {
    const { service, listening } = await primary();
    const replica = await replicaOf(listening.address);
    await listening.close();
    await replica.closed;
    await expect(replica.submit({ kind: "createUser", userId: 9 })).rejects.toMatchObject({
      code: "UNAVAILABLE",
    });
    await service.close();
  });
});
