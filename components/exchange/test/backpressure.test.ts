import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { loadConfig } from "../../config/src/index.ts";
import { OrderType, Side, TimeInForce } from "../../matching/src/index.ts";
import { startUbsCoreNode } from "../src/embedded.ts";

it.each(["inline", "worker"] as const)(
  "holds new commands while settlement (%s) is more than ubscore.maxSettlementLag behind",
  async (kind) => {
    const dataDir = await mkdtemp(join(tmpdir(), "bourse-backpressure-"));
    const config = await loadConfig({
      overrides: {
        dataDir,
        demo: true,
        gateway: { adminPort: 0 },
        ubscore: { maxSettlementLag: 100 },
        settlement: { kind },
      },
    });
    const node = await startUbsCoreNode(config, false);
    const [a, b] = node.demoKeys;
    const base = { symbol: "BTCUSDT", type: OrderType.Limit, tif: TimeInForce.GTC, quoteUnits: 0n, stp: 0 };
    let worst = 0;
    for (let round = 0; round < 40; round++) {
      const batch = Array.from({ length: 50 }, (_, i) => {
        const n = round * 50 + i;
        return node.service
          .submit({
            kind: "place",
            ...base,
            userId: n % 2 === 0 ? a!.userId : b!.userId,
            clientOrderId: `o${n}`,
            side: n % 2 === 0 ? Side.Buy : Side.Sell,
            priceTicks: 6_000_000,
            qtyLots: 10,
            time: Date.now(),
          })
          .then(() => {
            worst = Math.max(worst, node.service.lastLsn - node.settlement.settledLsn);
          });
      });
      await Promise.all(batch);
    }
    // Admission is checked before a command is journaled: at most one batch gets past it at once.
    expect(worst).toBeLessThanOrEqual(100 + 50);
    await node.settlement.waitSettled(node.service.lastLsn);
    expect(node.service.core.tradesOf(1).length).toBe(1_000);
    await node.close();
  },
);
