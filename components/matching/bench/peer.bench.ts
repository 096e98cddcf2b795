import { OrderBook, Side as PeerSide } from "nodejs-order-book";
import { CommandType, OrderType, Side } from "../src/protocol.ts";
import { generateWorkload } from "./workload.ts";

/**
 * npm run bench:matching:peer — the same seeded workload through nodejs-order-book, the
 * strongest order book on npm we found, for a like-for-like figure beside bench:matching.
 * Warm-up pass, then a timed pass on a fresh book.
 */
const COUNT = Number(process.env.BENCH_COMMANDS ?? 1_000_000);
const SEED = Number(process.env.BENCH_SEED ?? 42);
const commands = generateWorkload(COUNT, SEED);

function run(): number {
  const book = new OrderBook();
  const t0 = performance.now();
  for (const c of commands) {
    if (c.type === CommandType.Cancel) {
      book.cancel(String(c.orderId));
    } else if (c.type === CommandType.Place) {
      const side = c.side === Side.Buy ? PeerSide.BUY : PeerSide.SELL;
      if (c.orderType === OrderType.Market) book.market({ side, size: c.qtyLots });
      else book.limit({ id: String(c.orderId), side, size: c.qtyLots, price: c.priceTicks });
    }
  }
  return performance.now() - t0;
}

run();
const ms = run();
console.log(`bench:matching:peer  nodejs-order-book, ${COUNT.toLocaleString("en")} commands, seed ${SEED}`);
console.log(`  throughput     ${(COUNT / ms / 1000).toFixed(2)} M commands/s (${ms.toFixed(0)} ms)`);
