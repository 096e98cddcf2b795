import { parseExact, stringifyExact } from "../../domain/src/index.ts";
import type { LogPublisher } from "../../eventlog/src/index.ts";
import { partitionOf } from "../../eventlog/src/index.ts";
import { historyFor } from "../../settlement/src/index.ts";
import type { StoredOrder, StoredTrade } from "../../store/src/index.ts";
import type { CommandListener } from "../../ubscore/src/index.ts";

/**
 * UBSCore's event stream on the event log (Kafka in a cluster): for every applied command that
 * touched a market, one record keyed by the market's symbol with the journal position, the orders
 * as they stand after the command and the trades it made. A market's records share a partition,
 * so they keep their order. Published at least once (`LogPublisher`): a consumer drops any record
 * whose `lsn` is not above the last it saw in its partition.
 */
export interface MarketEvent {
  readonly lsn: number;
  readonly market: string;
  readonly orders: readonly StoredOrder[];
  readonly trades: readonly StoredTrade[];
}

/** Fixed, so a market's partition does not move when markets are added. */
export const EVENT_PARTITIONS = 8;

/** The UBSCore command listener that publishes market events (live and replayed commands alike). */
export function marketEvents(publisher: LogPublisher): CommandListener {
  return (_cmd, result, lsn, core) => {
    if (lsn <= publisher.publishedLsn || result.marketId === undefined) return;
    const { orders, trades } = historyFor(core, result);
    if (orders.length === 0 && trades.length === 0) return;
    const market = core.exchange.marketById(result.marketId)!.symbol;
    const event: MarketEvent = { lsn, market, orders, trades };
    publisher.publish(lsn, market, Buffer.from(stringifyExact(event)));
  };
}

/** Reads an event record's value. */
export function decodeMarketEvent(value: Uint8Array): MarketEvent {
  return parseExact<MarketEvent>(Buffer.from(value).toString("utf8"));
}

/** Where a market's events go (the same function the event log places records with). */
export function eventPartition(market: string): number {
  return partitionOf(market, EVENT_PARTITIONS);
}
