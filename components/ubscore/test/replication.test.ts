import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { isBourseError } from "../../domain/src/index.ts";
import { OrderType, Side } from "../../matching/src/index.ts";
import {
  type Channel,
  ChannelHandlers,
  MessagePortTransport,
  tcpTransport,
} from "../../transport/src/index.ts";
import { encodeCommand } from "../src/codec.ts";
import { UbsCore } from "../src/core.ts";
import { ReplicationServer, UbsCoreReplica } from "../src/replication.ts";
import { UbsCoreService } from "../src/service.ts";
import type { UbsCommand } from "../src/types.ts";
import { dump, exchange, limitPlace, script, submitAll } from "./fixtures.ts";

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

/** Two channels back to back, each message delivered within `send`: a peer that acts mid-turn. */
function synchronousPair(): [Channel, Channel] {
  const end = (mine: ChannelHandlers, theirs: ChannelHandlers): Channel => ({
    send: (message) => {
      if (!theirs.closed) theirs.deliver(message);
    },
    onMessage: (handler) => mine.onMessage(handler),
    onClose: (handler) => mine.onClose(handler),
    close: () => {
      mine.finish();
      theirs.finish();
    },
  });
  const a = new ChannelHandlers();
  const b = new ChannelHandlers();
  return [end(a, b), end(b, a)];
}

/** `channel`, counting the messages it delivers (`count()`: how many so far). */
function counting(channel: Channel): { channel: Channel; count: () => number } {
  let delivered = 0;
  const counted: Channel = {
    send: (message) => channel.send(message),
    onMessage: (handler) =>
      channel.onMessage((message) => {
        delivered++;
        handler(message);
      }),
    onClose: (handler) => channel.onClose(handler),
    close: () => channel.close(),
  };
  return { channel: counted, count: () => delivered };
}

/**
 * The turn each command the service applies from now on comes in (by lsn): one synchronous run of
 * its listeners, which is a group commit's commands; `inTurn` is how many of the turn so far.
 */
function turnsOf(service: UbsCoreService, onApplied: (lsn: number, inTurn: number) => void = () => {}) {
  const turnOf = new Map<number, number>();
  let turn = 0;
  let inTurn = 0;
  service.onCommand((_cmd, _result, lsn) => {
    if (inTurn === 0) {
      turn++;
      queueMicrotask(() => {
        inTurn = 0;
      });
    }
    turnOf.set(lsn, turn);
    onApplied(lsn, ++inTurn);
  });
  return turnOf;
}

/** The lsns grouped by what `of` maps them to, in order. */
function groups(of: ReadonlyMap<number, number>): number[][] {
  const by = new Map<number, number[]>();
  for (const [lsn, key] of of) by.set(key, [...(by.get(key) ?? []), lsn]);
  return [...by.values()];
}

/**
 * Submits `cmds` through `replica` concurrently. One the core refuses is refused alike; one the
 * primary accepted must be in the replica's state as its answer arrives (INTERNAL, from the
 * replica lacking the result of its position, fails the test).
 */
async function submitThrough(replica: UbsCoreReplica, cmds: UbsCommand[]): Promise<void> {
  await Promise.all(
    cmds.map(async (cmd) => {
      try {
        await replica.submit(cmd);
      } catch (e) {
        if (!isBourseError(e) || e.code === "INTERNAL") throw e;
        return;
      }
      if (cmd.kind !== "place") return;
      const placed = replica.core.allOrders(cmd.userId, 1).map((o) => o.clientOrderId);
      expect(placed).toContain(cmd.clientOrderId);
    }),
  );
}

/** A primary's message by hand: its type, its numbers (doubles, little-endian), then its body. */
function message(type: number, numbers: number[], body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = Buffer.alloc(1 + numbers.length * 8 + body.length);
  out[0] = type;
  for (const [i, n] of numbers.entries()) out.writeDoubleLE(n, 1 + i * 8);
  out.set(body, 1 + numbers.length * 8);
  return out;
}

/** A BATCH (type 11) saying it holds `count` messages, of `parts` (each length-prefixed). */
function batchOf(count: number, parts: Uint8Array[]): Uint8Array {
  const length = (p: Uint8Array) => {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32LE(p.length);
    return bytes;
  };
  const body = Buffer.concat(parts.flatMap((p) => [length(p), p]));
  return message(11, [count], body);
}

const SNAPSHOT = 2;
const APPLIED = 3;

/**
 * Messages a primary might send a replica after its snapshot, and how many commands each makes
 * it apply (0: none, and the replica leaves).
 */
function fromAPrimary(): [string, Uint8Array, number][] {
  const create = (userId: number) =>
    message(APPLIED, [userId], encodeCommand({ kind: "createUser", userId }));
  return [
    ["a batch of two", batchOf(2, [create(1), create(2)]), 2],
    ["a batch short of its count", batchOf(3, [create(1), create(2)]), 0],
    ["a batch whose last length runs past its end", batchOf(2, [create(1), create(2)]).subarray(0, -1), 0],
    [
      "a batch holding a command that does not decode",
      batchOf(2, [create(1), message(APPLIED, [2], Uint8Array.of(2, 255))]),
      0,
    ],
    ["a batch within a batch", batchOf(1, [batchOf(1, [create(1)])]), 0],
    ["an unknown message", Uint8Array.of(99), 0],
  ];
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

describe("UBSCore replication in batches (a turn's commands, a replica's answers)", () => {
  it("sends a replica the commands of one turn as one message, and its answers of the turn as one", async () => {
    const { service, server } = await primary();
    const transport = new MessagePortTransport();
    await transport.listen("ubscore", (channel) => server.accept(channel));
    await submitAll(service, script().slice(0, 9));
    const turnOf = turnsOf(service);
    const counted = counting(await transport.connect("ubscore"));
    const replica = await UbsCoreReplica.open(counted.channel, exchange, () => {});
    const messageOf = new Map<number, number>();
    replica.onCommand((_cmd, _result, lsn) => messageOf.set(lsn, counted.count()));
    const before = counted.count();
    // Bids that do not cross and that user 1 can pay for: each one applied and answered.
    const bids = Array.from({ length: 200 }, (_, i) =>
      limitPlace({
        userId: 1,
        side: Side.Buy,
        clientOrderId: `b${i}`,
        priceTicks: 5_000_000 + i,
        qtyLots: 1_000,
      }),
    );
    await Promise.all(bids.map((bid) => replica.submit(bid)));
    const turns = groups(turnOf);
    expect(turns.flat()).toHaveLength(bids.length);
    expect(turns.some((turn) => turn.length > 1)).toBe(true);
    expect(groups(messageOf)).toEqual(turns);
    // Each turn: its commands in one message, then the answers to this replica in one more.
    expect(counted.count() - before).toBe(2 * turns.length);
    expect(dump(replica.core)).toBe(dump(service.core));
    replica.close();
    await service.close();
  });

  it("keeps replicas equal to the primary through a burst, one subscribing and an event within a turn", async () => {
    const { service, server, listening } = await primary();
    const cmds = script();
    await submitAll(service, cmds.slice(0, 9));
    // A notes how far it had applied as each event reached it.
    const heard: { event: unknown; appliedLsn: number }[] = [];
    let opened: UbsCoreReplica | undefined;
    const a = await UbsCoreReplica.open(await tcpTransport.connect(listening.address), exchange, (event) =>
      heard.push({ event, appliedLsn: opened?.appliedLsn ?? -1 }),
    );
    opened = a;
    const orders = cmds.slice(9);
    const half = orders.length / 2;
    const midway = service.appliedLsn + half / 2;
    let b: Promise<UbsCoreReplica> | undefined;
    let broadcastAt = 0;
    turnsOf(service, (lsn, inTurn) => {
      // Within a turn, with the commands of it applied so far waiting to be sent: B's snapshot
      // holds them, so B must get none of them and every one after; the event must reach A
      // after them and before the next.
      if (lsn < midway || inTurn < 2) return;
      if (!b) {
        const [replicaEnd, primaryEnd] = synchronousPair();
        server.accept(primaryEnd);
        b = UbsCoreReplica.open(replicaEnd, exchange, () => {});
      } else if (!broadcastAt) {
        broadcastAt = lsn;
        server.broadcast({ kind: "midway" });
      }
    });
    await submitThrough(a, orders.slice(0, half));
    expect(b).toBeDefined();
    const replicaB = await b!;
    expect(replicaB.appliedLsn).toBeGreaterThanOrEqual(midway);
    const rest = orders.slice(half);
    await Promise.all([
      submitThrough(
        a,
        rest.filter((_, i) => i % 2 === 0),
      ),
      submitThrough(
        replicaB,
        rest.filter((_, i) => i % 2 === 1),
      ),
    ]);
    // A round trip each: every command applied before the answer has reached the replica.
    await Promise.all([a.call("double", 1), replicaB.call("double", 1)]);
    expect(broadcastAt).toBeGreaterThan(0);
    expect(heard.at(-1)).toEqual({ event: { kind: "midway" }, appliedLsn: broadcastAt });
    for (const replica of [a, replicaB]) {
      expect(replica.appliedLsn).toBe(service.appliedLsn);
      expect(dump(replica.core)).toBe(dump(service.core));
      replica.close();
    }
    await listening.close();
    await service.close();
  });
});

describe("UBSCore replication: a replica and a primary whose message does not decode", () => {
  it("leaves a primary whose message does not decode, applying none of it", async () => {
    for (const [what, sent, applies] of fromAPrimary()) {
      const [replicaEnd, primaryEnd] = synchronousPair();
      // Answers the subscribe with an empty core's snapshot at position 0.
      primaryEnd.onMessage(() => primaryEnd.send(message(SNAPSHOT, [0], new UbsCore(exchange).snapshot())));
      const replica = await UbsCoreReplica.open(replicaEnd, exchange, () => {});
      let closed = false;
      void replica.closed.then(() => {
        closed = true;
      });
      primaryEnd.send(sent);
      await Promise.resolve();
      expect(replica.appliedLsn, what).toBe(applies);
      expect(closed, what).toBe(applies === 0);
      replica.close();
    }
  });
});

describe("UBSCore replication to a gateway of the release before (rolling updates)", () => {
  it("sends a replica of an earlier release (SUBSCRIBE without features) every message alone", async () => {
    const { service, server } = await primary();
    const transport = new MessagePortTransport();
    await transport.listen("ubscore", (channel) => server.accept(channel));
    const earlier = await transport.connect("ubscore");
    const received: number[] = [];
    const snapshot = new Promise<void>((resolve) =>
      earlier.onMessage((m) => {
        received.push(m[0]!);
        if (m[0] === SNAPSHOT) resolve();
      }),
    );
    earlier.send(message(1, []));
    await snapshot;
    const turnOf = turnsOf(service);
    await submitAll(service, script());
    const applied = groups(turnOf);
    expect(applied.some((turn) => turn.length > 1)).toBe(true);
    await vi.waitFor(() =>
      expect(received.filter((type) => type === APPLIED)).toHaveLength(applied.flat().length),
    );
    expect(received).not.toContain(11);
    earlier.close();
    await service.close();
  });
});
