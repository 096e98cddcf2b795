import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { createSocket } from "node:dgram";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../components/config/src/index.ts";
import { DEMO_EXCHANGE, ExchangeDefinition, stringifyExact } from "../../components/domain/src/index.ts";
import {
  CommandType,
  encodeCommandMessage,
  encodeHandover,
  MatchingEngine,
  OrderType,
  Side,
  TimeInForce,
} from "../../components/matching/src/index.ts";
import type { Transport, TransportServer } from "../../components/transport/src/index.ts";
import {
  AeronClient,
  aeronTransport,
  linkTransport,
  secureTransport,
  tcpTransport,
} from "../../components/transport/src/index.ts";
import type { UbsCommand } from "../../components/ubscore/src/index.ts";
import { encodeCommand, UbsCoreReplica } from "../../components/ubscore/src/index.ts";
import { limitOrder, TestClient } from "../api/client.ts";
import { crossTrade } from "../e2e/harness.ts";
import { LocalExchange } from "../e2e/local-exchange.ts";
import { type MediaDriver, startMediaDriver } from "../infra/aeron.ts";
import { freePort } from "../infra/ports.ts";
import { CHALLENGE, CHALLENGE_FRAME, fuzzChannels, fuzzPort, hello, stranger } from "./random-peer.ts";
import { forgeUdp } from "./udp-forger.ts";

/**
 * Issue 18, finding 1, played against the real processes: `bourse ubscore`, `bourse matching` and
 * a `bourse gateway`, over loopback TCP and over Aeron IPC through the real media driver, their
 * link keys made on first start in the shared data dir. Each attack that worked on the
 * unauthenticated ports (a snapshot with every user's secret, a credit minting money, a halt, a
 * transfer, a HANDOVER replacing matching's books, a fake matching or UBSCore believed) is
 * refused, and afterwards nothing changed: balances, open orders, the markets' status, the
 * journal's position (reconcile's), reconcile's differences, and a replay of the journal against
 * what the gateway serves.
 */
const bin = join(import.meta.dirname, "..", "..", "bin", "bourse.mjs");
const exchangeDef = new ExchangeDefinition(DEMO_EXCHANGE);

/** The old protocol's replication frames: type, a corr slot, a body. */
const replicationFrame = (type: number, body: Uint8Array = new Uint8Array(0)) => {
  const out = new Uint8Array(9 + body.length);
  out[0] = type;
  new DataView(out.buffer).setFloat64(1, 1, true);
  out.set(body, 9);
  return out;
};
const SUBSCRIBE = Uint8Array.of(1);
const submit = (cmd: UbsCommand) => replicationFrame(4, encodeCommand(cmd));
const call = (method: string, args: unknown[]) =>
  replicationFrame(7, new TextEncoder().encode(stringifyExact({ method, args })));

/** A HANDOVER of empty books for every market, then an order command: what replaced the books on main. */
function fakeHandover(): Uint8Array[] {
  const books = exchangeDef.markets.map((m) => {
    const quotePerTickLot = Number(m.quotePerTickLot);
    return {
      marketId: m.id,
      matched: 0,
      quotePerTickLot,
      snapshot: new MatchingEngine({ quotePerTickLot }).snapshot(),
    };
  });
  const command = encodeCommandMessage({
    marketId: 1,
    seq: 1,
    command: {
      type: CommandType.Place,
      orderId: 1,
      userId: 1,
      side: Side.Buy,
      orderType: OrderType.Limit,
      tif: TimeInForce.GTC,
      priceTicks: 1,
      qtyLots: 1,
      quoteUnits: 0,
      stp: 0,
    },
  });
  return [encodeHandover(books), command];
}

/**
 * What a forger sends on a UDP session of its own: the transport's HELLO (its replies to a loopback
 * port nobody reads), then the transport's DATA carrying the link's HELLO and the known attacks.
 */
function forgedSession(linkName: string, known: Uint8Array[], replyPort: number): Uint8Array[] {
  const transportHello = Buffer.alloc(5);
  transportHello.writeUInt8(1, 0);
  transportHello.writeInt32LE(randomInt(1, 0x3fff_ffff), 1);
  const data = (m: Uint8Array) => Buffer.concat([Buffer.of(0), m]);
  return [
    Buffer.concat([transportHello, Buffer.from(`aeron:udp?endpoint=127.0.0.1:${replyPort}`, "latin1")]),
    data(hello(linkName)),
    ...known.map(data),
  ];
}

/** Where the exchange runs: its processes, the bare transport under the links, and the two ports. */
interface Layout {
  readonly exchange: LocalExchange;
  /** The transport without a link to `address`: what a stranger speaks. */
  rawTo(address: string): Transport;
  readonly tcp: boolean;
  /** Over Aeron UDP: UBSCore's and matching's UDP ports, where anyone on the network can send datagrams. */
  readonly udpPorts: number[];
  readonly ubscore: string;
  readonly matching: string;
  /** The environment that points a process at `address` as UBSCore. */
  ubscoreAt(address: string): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

async function tcpLayout(): Promise<Layout> {
  const exchange = await LocalExchange.start({ gateways: 1, keyspace: "links" });
  const config = JSON.parse(await readFile(exchange.env.BOURSE_CONFIG!, "utf8"));
  return {
    exchange,
    rawTo: () => tcpTransport,
    tcp: true,
    udpPorts: [],
    ubscore: exchange.env.BOURSE_UBSCORE_ADDRESS!,
    matching: config.matching.address,
    ubscoreAt: (address) => ({ BOURSE_UBSCORE_ADDRESS: address }),
    stop: async () => exchange.stop(),
  };
}

/**
 * Over Aeron through the real media driver: IPC, or UDP with every endpoint on loopback (UBSCore's,
 * matching's, the clients' replies), as between pods. A stranger publishes from its own client.
 */
async function aeronLayout(udp: boolean): Promise<Layout> {
  const driver: MediaDriver = await startMediaDriver({ clientLivenessTimeoutMs: 3_000 });
  const udpPorts = udp ? [await freePort(), await freePort(), await freePort(), await freePort()] : [];
  const [ubscoreChannel, matchingChannel, replyChannel, strangerReplies] = udpPorts.map(
    (port) => `aeron:udp?endpoint=127.0.0.1:${port}`,
  );
  const exchange = await LocalExchange.start({
    gateways: 1,
    keyspace: "links",
    aeron: driver,
    env: udp
      ? {
          BOURSE_AERON_CHANNEL: ubscoreChannel,
          BOURSE_AERON_REPLY_CHANNEL: replyChannel,
          BOURSE_MATCHING_CHANNEL: matchingChannel,
        }
      : {},
  });
  const client = await AeronClient.connect({ dir: driver.dir });
  const rawOn = (channel: string | undefined) =>
    aeronTransport(client, {
      connectTimeoutMs: 2_000,
      ...(channel && { channel, replyChannel: strangerReplies }),
    });
  const [toUbsCore, toMatching] = [rawOn(ubscoreChannel), rawOn(matchingChannel)];
  const config = JSON.parse(await readFile(exchange.env.BOURSE_CONFIG!, "utf8"));
  const matching = String(config.matching.stream);
  return {
    exchange,
    rawTo: (address) => (address === matching ? toMatching : toUbsCore),
    tcp: false,
    udpPorts: udpPorts.slice(0, 2),
    ubscore: exchange.env.BOURSE_AERON_STREAM!,
    matching,
    ubscoreAt: (address) => ({ BOURSE_AERON_STREAM: address }),
    async stop() {
      exchange.stop();
      await client.close();
      await driver.stop();
    },
  };
}

/**
 * Random peers on both internal ports until `until`: over TCP also unframed bytes and impossible
 * lengths, over Aeron whole messages; over UDP also forged Aeron sessions, straight to the drivers'
 * endpoints, asking for replies at `strangerPort`.
 */
async function attackLinks(layout: Layout, known: Uint8Array[], strangerPort: number, until: number) {
  const fuzz = (address: string, linkName: string) =>
    layout.tcp
      ? fuzzPort(address, linkName, known, until, 4)
      : fuzzChannels(layout.rawTo(address), address, linkName, known, until);
  const forge = (port: number, stream: string, linkName: string) =>
    forgeUdp(port, Number(stream), forgedSession(linkName, known, strangerPort), until);
  const [ubscorePort, matchingPort] = layout.udpPorts;
  const [results, forged] = await Promise.all([
    Promise.all([fuzz(layout.ubscore, "gateway-ubscore"), fuzz(layout.matching, "ubscore-matching")]),
    Promise.all(
      ubscorePort === undefined || matchingPort === undefined
        ? []
        : [
            forge(ubscorePort, layout.ubscore, "gateway-ubscore"),
            forge(matchingPort, layout.matching, "ubscore-matching"),
          ],
    ),
  ]);
  return { results, forged };
}

/** Every random peer held many conversations, and none was answered more than a challenge. */
function expectOnlyChallenged(layout: Layout, results: { conversations: number; largestAnswer: number }[]) {
  const most = layout.tcp ? CHALLENGE_FRAME : CHALLENGE;
  for (const r of results) {
    expect(r.conversations).toBeGreaterThan(10);
    expect(r.largestAnswer).toBeLessThanOrEqual(most);
  }
}

/**
 * The layout under test and its exchange, set by each layout's beforeAll (the layouts run one after
 * the other).
 */
let layout: Layout;
let exchange: LocalExchange;

/** Bob sells, alice buys at market: it fills in full, and the invariants hold. */
async function tradeOnce() {
  const { session } = exchange;
  const sold = await session.ccxt("bob", exchange.url(0)).createLimitSellOrder("BTC/USDT", 0.01, 59000);
  const bought = await session.ccxt("alice", exchange.url(0)).createMarketBuyOrder("BTC/USDT", 0.01);
  session.acknowledged.push({ who: "bob", orderId: sold.id! }, { who: "alice", orderId: bought.id! });
  expect(bought.filled).toBe(0.01);
  await exchange.checkInvariants(0);
}

/** Everything an attack could have changed, as the exchange itself reports it. */
async function observe() {
  const { session } = exchange;
  const via = exchange.url(0);
  const open = async (who: "alice" | "bob") =>
    (
      await new TestClient(via, session.users[who]).signed<{ orderId: number }[]>(
        "GET",
        "/api/v3/openOrders",
        {
          symbol: "BTCUSDT",
        },
      )
    ).body.map((o) => o.orderId);
  const info = await new TestClient(via).public<{ symbols: { symbol: string; status: string }[] }>(
    "/api/v3/exchangeInfo",
  );
  const reconciled = await session.admin<{ lsn: number; differences: unknown[] }>(
    "POST",
    "/admin/v1/reconcile",
    {},
  );
  return {
    balances: {
      alice: await session.balancesOf(session.users.alice.userId),
      bob: await session.balancesOf(session.users.bob.userId),
    },
    open: { alice: await open("alice"), bob: await open("bob") },
    status: info.body.symbols.map((s) => `${s.symbol}:${s.status}`),
    journalPosition: reconciled.lsn,
    differences: reconciled.differences,
  };
}

/** Runs `attack`, then checks nothing changed and every process still runs. */
async function unchangedBy(attack: () => Promise<void>) {
  const before = await observe();
  await attack();
  expect(await observe()).toEqual(before);
  expect(before.differences).toEqual([]);
  for (const p of [exchange.ubscore, exchange.matching, ...exchange.gateways]) {
    expect(p.child.exitCode).toBeNull();
  }
  await exchange.checkReplay(0);
}

/** A stranger's messages to `address`: with and without a HELLO first, it gets at most the CHALLENGE. */
async function refusedUnheard(address: string, linkName: string, frames: Uint8Array[]) {
  expect(await stranger(layout.rawTo(address), address, frames)).toEqual([]);
  const afterHello = await stranger(layout.rawTo(address), address, [hello(linkName), ...frames]);
  expect(afterHello.map((m) => m.length)).toEqual([CHALLENGE]);
  return afterHello[0]!;
}

/** A listener standing in for a real process on `address`: records what it is sent, answers junk. */
async function impostorAt(address: string) {
  const received: Uint8Array[] = [];
  const junk = Buffer.concat([Buffer.of(2), Buffer.alloc(64, 7)]); // a CHALLENGE's shape, made without the key
  const server: TransportServer = await layout.rawTo(address).listen(address, (channel) =>
    channel.onMessage((m) => {
      received.push(Buffer.from(m));
      channel.send(junk);
    }),
  );
  return { received, address: server.address, close: () => server.close() };
}

function ubscorePortRefusals(): void {
  it("SUBSCRIBE gets nothing: no snapshot, not one user's secret key", async () => {
    const { alice, bob } = exchange.session.users;
    await unchangedBy(async () => {
      const challenge = await refusedUnheard(layout.ubscore, "gateway-ubscore", [SUBSCRIBE]);
      for (const secret of [alice.secretKey, bob.secretKey]) {
        expect(Buffer.from(challenge).includes(secret)).toBe(false);
      }
    });
  });

  it("SUBMIT credit, halt, createUser and CALL transfer are dropped unheard", async () => {
    const { alice } = exchange.session.users;
    await unchangedBy(async () => {
      for (const frame of [
        submit({ kind: "credit", userId: alice.userId, asset: "BTC", amount: 10n ** 14n }),
        submit({ kind: "halt", symbol: "BTCUSDT" }),
        submit({ kind: "createUser", userId: 99 }),
        call("transfer", [
          {
            userId: alice.userId,
            type: "MAIN_FUNDING",
            asset: "USDT",
            amount: 1n,
            clientTranId: "x",
            time: 1,
          },
        ]),
      ]) {
        await refusedUnheard(layout.ubscore, "gateway-ubscore", [frame]);
      }
    });
  });

  it("a peer holding matching's link key, not the gateway's, is refused too", async () => {
    const dataDir = exchange.env.BOURSE_DATA_DIR!;
    const matchingKey = await readFile(join(dataDir, "links", "ubscore-matching"), "latin1");
    const impostor = secureTransport(layout.rawTo(layout.ubscore), {
      client: "gateway",
      server: "ubscore",
      key: async () => Buffer.from(matchingKey.trim(), "hex"),
    });
    await unchangedBy(async () => {
      await expect(impostor.connect(layout.ubscore)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    });
  });
}

function gatewayLimits(): void {
  it("credit, debit, halt, createUser, withdrawals and matching outcomes are FORBIDDEN", async () => {
    const config = validateConfig({ dataDir: exchange.env.BOURSE_DATA_DIR });
    const channel = await linkTransport(config, layout.rawTo(layout.ubscore), "gateway", "ubscore").connect(
      layout.ubscore,
    );
    const replica = await UbsCoreReplica.open(channel, exchangeDef, () => {});
    const { alice } = exchange.session.users;
    try {
      await unchangedBy(async () => {
        const forbidden: UbsCommand[] = [
          { kind: "credit", userId: alice.userId, asset: "BTC", amount: 10n ** 14n },
          { kind: "debit", userId: alice.userId, asset: "USDT", amount: 1n },
          { kind: "halt", symbol: "BTCUSDT" },
          { kind: "createUser", userId: 99 },
          { kind: "holdWithdrawal", withdrawalId: "w1", userId: alice.userId, asset: "USDT", amount: 1n },
          { kind: "transferIn", transferSeq: 999, userId: alice.userId, asset: "USDT", amount: 1n },
          { kind: "matched", marketId: 1, seq: 1, events: new Uint8Array(0) },
        ];
        for (const cmd of forbidden) {
          await expect(replica.submit(cmd), cmd.kind).rejects.toMatchObject({ code: "FORBIDDEN" });
        }
      });
    } finally {
      replica.close();
    }
  });
}

function matchingPortRefusals(): void {
  it("a HANDOVER and an order command get no outcome, and the real books stay", async () => {
    await unchangedBy(async () => {
      await refusedUnheard(layout.matching, "ubscore-matching", fakeHandover());
    });
    // The books are UBSCore's still: a crossing trade through the gateway fills against them.
    await tradeOnce();
  });
}

function fakePeers(): void {
  it("UBSCore does not hand its books to a fake matching while the real one is down", async () => {
    exchange.matching.child.kill("SIGKILL");
    await exchange.matching.exited;
    const fake = await impostorAt(layout.matching);
    // An order placed meanwhile waits (journaled, unanswered) rather than going to the fake.
    const bob = new TestClient(exchange.url(0), exchange.session.users.bob);
    const pending = bob.signed<{ orderId: number }>(
      "POST",
      "/api/v3/order",
      limitOrder("SELL", "0.01", "70000"),
    );
    await expect.poll(() => fake.received.length, { timeout: 30_000 }).toBeGreaterThan(1);
    await fake.close();
    // UBSCore said HELLO and no more: no handover, no order, nothing of its books.
    for (const m of fake.received) {
      expect(m.length).toBe(1 + 32 + "ubscore-matching".length);
      expect(Buffer.from(m.subarray(33)).toString()).toBe("ubscore-matching");
    }
    await exchange.restartMatching(false);
    const placed = await pending;
    if (placed.status === 200) {
      exchange.session.acknowledged.push({ who: "bob", orderId: String(placed.body.orderId) });
    }
    await exchange.checkInvariants(0);
    await exchange.checkReplay(0);
  });

  it("a gateway refuses a fake UBSCore and exits without serving", async () => {
    const fake = await impostorAt(layout.tcp ? `127.0.0.1:${await freePort()}` : "0");
    try {
      const child = spawn(process.execPath, [bin, "gateway"], {
        env: {
          ...exchange.env,
          ...layout.ubscoreAt(fake.address),
          BOURSE_GATEWAY_PORT: String(await freePort()),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr!.on("data", (d) => {
        stderr += d;
      });
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      expect(code).toBe(2);
      expect(stderr).toContain("does not hold this link's key");
      expect(fake.received.map((m) => Buffer.from(m.subarray(33)).toString())).toEqual(["gateway-ubscore"]);
    } finally {
      await fake.close();
    }
  });
}

function randomPeers(): void {
  it("malformed and unauthenticated messages for a bounded time: no crash, nothing changed", async () => {
    const { alice } = exchange.session.users;
    const known = [
      SUBSCRIBE,
      submit({ kind: "credit", userId: alice.userId, asset: "BTC", amount: 10n ** 14n }),
      submit({ kind: "halt", symbol: "BTCUSDT" }),
      ...fakeHandover(),
    ];
    // Where forged HELLOs ask for replies: what arrives there shows the forged frames reached the server.
    const replies = createSocket("udp4");
    let repliesToForger = 0;
    replies.on("message", () => repliesToForger++);
    await new Promise<void>((resolve) => replies.bind(0, "127.0.0.1", resolve));
    const strangerPort = replies.address().port;
    await unchangedBy(async () => {
      const { results, forged } = await attackLinks(layout, known, strangerPort, Date.now() + 15_000);
      for (const f of forged) expect(f.sessions).toBeGreaterThan(10);
      replies.close();
      // The servers took the forged sessions for clients and answered them (their drivers sent
      // the replies' SETUPs and at most a WELCOME and a CHALLENGE), then nothing more.
      if (forged.length > 0) expect(repliesToForger).toBeGreaterThan(0);
      expectOnlyChallenged(layout, results);
    });
    // And the exchange still trades.
    await tradeOnce();
  });
}

describe.each([
  ["loopback TCP", tcpLayout],
  ["Aeron IPC", () => aeronLayout(false)],
  ["Aeron UDP", () => aeronLayout(true)],
])("the internal links over %s", (_name, start) => {
  beforeAll(async () => {
    layout = await start();
    exchange = layout.exchange;
    await crossTrade(exchange.session, exchange.url(0), exchange.url(0));
  }, 300_000);

  afterAll(async () => {
    await layout?.stop();
  });

  describe("UBSCore's port refuses a peer without the gateway link's key", ubscorePortRefusals);
  describe("an authenticated gateway can do only what a trading client can", gatewayLimits);
  describe("matching's port refuses a peer without UBSCore's link key", matchingPortRefusals);
  describe("fake peers are not believed", fakePeers);
  describe("random peers on every internal port", randomPeers);
});
