import { MatchingEngine } from "../src/engine.ts";
import {
  type Command,
  CommandType,
  OrderType,
  SelfTradePrevention,
  Side,
  TimeInForce,
} from "../src/protocol.ts";

/**
 * The standard matching workload (seeded, deterministic), on one market:
 *  60% passive GTC limits at mid-1-k (buys) / mid+k (sells), k ~ Exponential(mean 10) rounded down;
 *  25% cancels of orders that are resting at that moment;
 *  10% market orders by quantity;
 *   5% marketable GTC limits 0-4 ticks through the mid (a remainder rests at its price);
 * and the mid takes a +/-1 tick step with probability 0.05 per command. Sizes: limits 1-50 lots,
 * market orders 1-20 lots, uniform. Ten users, STP off. Which orders rest is decided by running
 * the stream through an engine while it is generated (untimed).
 */
export function generateWorkload(count: number, seed: number): Command[] {
  const workload = new Workload(seed);
  const commands: Command[] = [];
  while (commands.length < count) {
    const cmd = workload.next();
    if (!cmd) continue;
    workload.run(cmd);
    commands.push(cmd);
  }
  return commands;
}

/** The generator's state: the random stream, the mid, and the engine that says which orders rest. */
class Workload {
  private readonly rand: () => number;
  private readonly engine = new MatchingEngine({ quotePerTickLot: 1 });
  private readonly live: number[] = [];
  private readonly owner = new Map<number, number>();
  private mid = 100_000;
  private nextId = 1;

  constructor(seed: number) {
    this.rand = sfc32(seed);
  }

  /** The next command by the mix above (undefined: a cancel drawn with nothing resting). */
  next(): Command | undefined {
    const rand = this.rand;
    if (rand() < 0.05) this.mid += rand() < 0.5 ? -1 : 1;
    const r = rand();
    if (r < 0.6) {
      const k = Math.floor(-10 * Math.log(1 - rand()));
      const side = rand() < 0.5 ? Side.Buy : Side.Sell;
      return this.limit(side, side === Side.Buy ? this.mid - 1 - k : this.mid + k, this.int(1, 50));
    }
    if (r < 0.85) return pickResting(this.live, this.owner, this.engine, rand);
    if (r < 0.95) return this.market();
    const side = rand() < 0.5 ? Side.Buy : Side.Sell;
    const through = this.int(0, 4);
    return this.limit(side, side === Side.Buy ? this.mid + through : this.mid - through, this.int(1, 50));
  }

  /** Runs the command through the engine, to know whether its order rests. */
  run(cmd: Command): void {
    this.engine.events.clear();
    this.engine.execute(cmd);
    if (cmd.type === CommandType.Place && this.engine.isResting(cmd.orderId)) {
      this.live.push(cmd.orderId);
      this.owner.set(cmd.orderId, cmd.userId);
    }
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }

  private limit(side: Side, priceTicks: number, qtyLots: number): Command {
    return {
      type: CommandType.Place,
      orderId: this.nextId++,
      userId: this.int(1, 10),
      side,
      orderType: OrderType.Limit,
      tif: TimeInForce.GTC,
      priceTicks,
      qtyLots,
      quoteUnits: 0,
      stp: SelfTradePrevention.None,
    };
  }

  private market(): Command {
    return {
      type: CommandType.Place,
      orderId: this.nextId++,
      userId: this.int(1, 10),
      side: this.rand() < 0.5 ? Side.Buy : Side.Sell,
      orderType: OrderType.Market,
      tif: TimeInForce.IOC,
      priceTicks: 0,
      qtyLots: this.int(1, 20),
      quoteUnits: 0,
      stp: SelfTradePrevention.None,
    };
  }
}

/** A random order that is resting right now (dropping ids that have since filled). */
function pickResting(
  live: number[],
  owner: Map<number, number>,
  engine: MatchingEngine,
  rand: () => number,
): Command | undefined {
  while (live.length > 0) {
    const i = Math.floor(rand() * live.length);
    const orderId = live[i]!;
    live[i] = live[live.length - 1]!;
    live.pop();
    const userId = owner.get(orderId)!;
    owner.delete(orderId);
    if (engine.isResting(orderId)) return { type: CommandType.Cancel, orderId, userId };
  }
  return undefined;
}

/** Small fast seeded PRNG (sfc32) so the workload is identical on every run. */
export function sfc32(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return next;
}
