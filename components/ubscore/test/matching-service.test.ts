import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isBourseError } from "../../domain/src/index.ts";
import { MatchingService } from "../../matching/src/index.ts";
import { tcpTransport } from "../../transport/src/index.ts";
import { MatchingLink } from "../src/matching-link.ts";
import { UbsCoreService } from "../src/service.ts";
import type { UbsCommand } from "../src/types.ts";
import { dump, exchange, script, submitAll } from "./fixtures.ts";

/** UBSCore with matching.kind service against a real `bourse matching` service over TCP loopback. */
const markets = exchange.markets.map((m) => ({ id: m.id, quotePerTickLot: Number(m.quotePerTickLot) }));

async function remoteUbsCore(dir: string, address: string) {
  const service = await UbsCoreService.open(dir, exchange, { matching: "remote" });
  const link = MatchingLink.start(service, tcpTransport, address);
  return {
    service,
    link,
    async close() {
      link.close();
      await service.close();
    },
  };
}

async function submitInOrder(service: UbsCoreService, cmds: UbsCommand[]): Promise<string[]> {
  const answers: string[] = [];
  for (const cmd of cmds) {
    answers.push(
      await service.submit(cmd).then(
        (r) => r.order?.status ?? "OK",
        (e) => {
          if (!isBourseError(e)) throw e;
          return e.code;
        },
      ),
    );
  }
  return answers;
}

describe("UBSCore with bourse matching", () => {
  it("answers every command as local books do, and replays the same state without matching", async () => {
    const local = await UbsCoreService.open(await mkdtemp(join(tmpdir(), "bourse-ubs-")), exchange);
    const expected = await submitInOrder(local, script());
    await local.close();

    const matching = await MatchingService.start({ transport: tcpTransport, listen: "127.0.0.1:0", markets });
    const dir = await mkdtemp(join(tmpdir(), "bourse-ubs-"));
    const remote = await remoteUbsCore(dir, matching.address);
    const cmds = script();
    const half = await submitInOrder(remote.service, cmds.slice(0, cmds.length / 2));
    // A readiness probe (connect, close) and a stray peer do not disturb the UBSCore being served.
    (await tcpTransport.connect(matching.address)).close();
    (await tcpTransport.connect(matching.address)).send(new Uint8Array(16));
    const rest = await submitInOrder(remote.service, cmds.slice(cmds.length / 2));
    expect([...half, ...rest]).toEqual(expected);
    expect(matching.handovers).toBe(1);
    expect(dump(remote.service.core)).toBe(dump(local.core));
    expect(matching.commands).toBeGreaterThan(200);
    await remote.close();
    await matching.close();
    // The journal holds the outcomes: replay needs no matching service.
    const replayed = await UbsCoreService.open(dir, exchange, { matching: "remote" });
    expect(dump(replayed.core)).toBe(dump(local.core));
    await expect(UbsCoreService.open(dir, exchange)).rejects.toThrow(/matching.kind service/);
    await replayed.close();
  });

  it("switches existing local data to the service: its journal replays as it was written", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bourse-ubs-"));
    const local = await UbsCoreService.open(dir, exchange);
    // Market orders (IOC) among them: replayed as forwarded commands they would stay open, their
    // funds frozen, and what came after them would be decided differently.
    await submitInOrder(local, script());
    const state = dump(local.core);
    await local.close();
    const switched = await UbsCoreService.open(dir, exchange, { matching: "remote" });
    expect(dump(switched.core)).toBe(state);
    expect(switched.core.matchingHandover().pending).toEqual([]);
    await switched.close();
    const reopened = await UbsCoreService.open(dir, exchange, { matching: "remote" });
    expect(reopened.replayedCommands).toBe(0);
    expect(dump(reopened.core)).toBe(state);
    await reopened.close();
  });
});

describe("UBSCore with a bourse matching that misbehaves or lags", () => {
  it("is refused by a matching service configured with other markets, and retries at a slowing pace", async () => {
    const other = markets.map((m) => ({ ...m, quotePerTickLot: m.quotePerTickLot + 1 }));
    let connections = 0;
    const matching = await MatchingService.start({
      transport: {
        ...tcpTransport,
        listen: (address, onChannel) =>
          tcpTransport.listen(address, (channel) => {
            connections++;
            onChannel(channel);
          }),
      },
      listen: "127.0.0.1:0",
      markets: other,
    });
    const remote = await remoteUbsCore(await mkdtemp(join(tmpdir(), "bourse-ubs-")), matching.address);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(matching.handovers).toBe(0);
    // Backing off (50, 100, 200, 400, 800 ms...), not reconnecting in a loop.
    expect(connections).toBeGreaterThan(1);
    expect(connections).toBeLessThan(8);
    await remote.close();
    await matching.close();
  });

  it("never journals an outcome out of sequence or for a market it did not hand over", async () => {
    const service = await UbsCoreService.open(await mkdtemp(join(tmpdir(), "bourse-ubs-")), exchange, {
      matching: "remote",
    });
    const events = new Uint8Array(0);
    expect(service.receiveOutcome({ kind: "matched", marketId: 1, seq: 1, events })).toBe(false);
    service.handover();
    const before = service.lastLsn;
    expect(service.receiveOutcome({ kind: "matched", marketId: 1, seq: 2, events })).toBe(false);
    expect(service.receiveOutcome({ kind: "matched", marketId: 99, seq: 1, events })).toBe(false);
    expect(service.lastLsn).toBe(before);
    await service.close();
  });

  it("refuses new order commands, changing nothing, once maxInFlight wait for matching", async () => {
    const service = await UbsCoreService.open(await mkdtemp(join(tmpdir(), "bourse-ubs-")), exchange, {
      matching: "remote",
      maxInFlight: 3,
    });
    const cmds = script();
    const setup = cmds.filter((c) => c.kind !== "place" && c.kind !== "cancel");
    await submitAll(service, setup);
    const places = cmds.filter((c) => c.kind === "place").slice(0, 4);
    // No matching service: the first three wait for it, the fourth is refused before the journal.
    const waiting = places.slice(0, 3).map((c) => service.submit(c).catch((e: Error) => e));
    await new Promise((r) => setTimeout(r, 50));
    const before = service.lastLsn;
    await expect(service.submit(places[3]!)).rejects.toMatchObject({ code: "OVERLOADED" });
    expect(service.lastLsn).toBe(before);
    expect(service.core.forwardedWaiting()).toBe(3);
    // Deposits and the like still go through.
    await service.submit({ kind: "credit", userId: 1, asset: "BTC", amount: 1n });
    await service.close();
    for (const e of await Promise.all(waiting)) expect(e).toMatchObject({ code: "UNAVAILABLE" });
  });
});

describe("UBSCore with bourse matching restarting", () => {
  it("carries on across matching restarts and a UBSCore restart with commands in flight", async () => {
    let matching = await MatchingService.start({ transport: tcpTransport, listen: "127.0.0.1:0", markets });
    const address = matching.address;
    const dir = await mkdtemp(join(tmpdir(), "bourse-ubs-"));
    let ubs = await remoteUbsCore(dir, address);
    const cmds = script();
    const third = Math.floor(cmds.length / 3);
    await submitAll(ubs.service, cmds.slice(0, third));

    // Matching dies with commands on their way; they wait, and go out with the next handover.
    const inFlight = submitAll(ubs.service, cmds.slice(third, 2 * third));
    await matching.close();
    matching = await MatchingService.start({ transport: tcpTransport, listen: address, markets });
    await inFlight;
    expect(matching.handovers).toBe(1);

    // UBSCore dies while matching is away: its forwarded commands are in its journal, unanswered.
    await matching.close();
    const stranded = submitAll(ubs.service, cmds.slice(2 * third)).catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    await ubs.close();
    await stranded;
    ubs = await remoteUbsCore(dir, address);
    expect(ubs.service.core.matchingHandover().pending.length).toBeGreaterThan(0);
    matching = await MatchingService.start({ transport: tcpTransport, listen: address, markets });
    for (let i = 0; i < 200 && ubs.service.core.matchingHandover().pending.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(ubs.service.core.matchingHandover().pending).toEqual([]);

    // Every command got its outcome, and money is whole.
    const state = dump(ubs.service.core);
    expect(ubs.service.core.book(1).depth().lastUpdateId).toBeGreaterThan(cmds.length / 2);
    expect(ubs.service.core.tradesOf(1).length).toBeGreaterThan(10);
    for (const asset of exchange.assets) {
      const credited =
        asset.symbol === "USDT" ? 3n * 1_000_000_00000000n : asset.symbol === "BTC" ? 30_00000000n : 0n;
      expect(ubs.service.core.totalOf(asset.id)).toBe(credited);
    }
    await ubs.close();
    await matching.close();
    const replayed = await UbsCoreService.open(dir, exchange, { matching: "remote" });
    expect(dump(replayed.core)).toBe(state);
    await replayed.close();
  }, 240_000);
});
