import type { OrderRecord, PreventedMatch } from "./types.ts";

/**
 * The matches self-trade prevention kept from happening (Binance's myPreventedMatches). Each is
 * kept on its two orders (taker and maker, one user's), numbered per market from 1, and findable
 * by its id while its taker order is held in memory.
 */
export class PreventedMatches {
  /** Per market, the last preventedMatchId given. */
  private readonly lastIds: number[] = [];
  /** "marketId:preventedMatchId" -> its taker order's id. */
  private readonly byId = new Map<string, number>();

  /** Records a prevention between `taker` and `maker` (its price and what it had left to fill). */
  record(taker: OrderRecord, maker: OrderRecord, makerPreventedLots: number, time: number): void {
    const marketId = taker.marketId;
    const preventedMatchId = (this.lastIds[marketId] ?? 0) + 1;
    this.lastIds[marketId] = preventedMatchId;
    const prevented: PreventedMatch = {
      preventedMatchId,
      takerOrderId: taker.orderId,
      makerOrderId: maker.orderId,
      stp: taker.stp,
      priceTicks: maker.priceTicks,
      makerPreventedLots,
      time,
    };
    for (const o of [taker, maker]) {
      if (o.preventedMatches) o.preventedMatches.push(prevented);
      else o.preventedMatches = [prevented];
    }
    this.index(marketId, prevented);
  }

  /** The taker order's id of a prevented match, while it is held. */
  takerOf(marketId: number, preventedMatchId: number): number | undefined {
    return this.byId.get(`${marketId}:${preventedMatchId}`);
  }

  /** An order held again (a restore): its preventions as taker findable by id. */
  held(o: OrderRecord): void {
    for (const p of o.preventedMatches ?? []) if (p.takerOrderId === o.orderId) this.index(o.marketId, p);
  }

  /** An order forgotten: its preventions as taker are no longer findable by id. */
  forgotten(o: OrderRecord): void {
    for (const p of o.preventedMatches ?? [])
      if (p.takerOrderId === o.orderId) this.byId.delete(`${o.marketId}:${p.preventedMatchId}`);
  }

  /** For snapshots: per market, the last id given (the records themselves are on the orders). */
  lastIdsByMarket(): readonly number[] {
    return this.lastIds;
  }

  restoreLastIds(saved: readonly (number | null)[] | undefined): void {
    (saved ?? []).forEach((id, marketId) => {
      if (id) this.lastIds[marketId] = id;
    });
  }

  private index(marketId: number, p: PreventedMatch): void {
    this.byId.set(`${marketId}:${p.preventedMatchId}`, p.takerOrderId);
  }
}
