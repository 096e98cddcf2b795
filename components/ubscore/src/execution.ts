import type { Market } from "../../domain/src/index.ts";
import { BourseError } from "../../domain/src/index.ts";
import {
  type Command,
  CommandType,
  EventType,
  type MatchingEvent,
  OrderType,
  RejectReason,
} from "../../matching/src/index.ts";
import { applyEvents, finish } from "./fills.ts";
import type { Admitted } from "./orders.ts";
import {
  type CommandResult,
  type CoreState,
  clientKey,
  type Forwarded,
  isDone,
  NO_EVENTS,
  unknownOrder,
} from "./state.ts";
import type { OrderRecord } from "./types.ts";

/**
 * Runs an admitted order command on the market's book: here (local), or by forwarding it to
 * the matching service, whose outcome comes back as a `matched` command (remote).
 */
export function match(s: CoreState, { market, command, rename }: Admitted, time: number): CommandResult {
  const remote = s.remote[market.id];
  if (!remote) {
    const engine = s.engines[market.id]!;
    engine.events.clear();
    engine.execute(command);
    const events = engine.events.decode();
    engine.events.clear();
    return matchedResult(s, market, command, events, rename);
  }
  const forwarded: Forwarded = { marketId: market.id, seq: ++remote.forwarded, command, time, rename };
  remote.pending.push(forwarded);
  const order = "orderId" in command ? s.orders.get(command.orderId) : undefined;
  return { order, events: NO_EVENTS, marketId: market.id, forwarded };
}

/** Applies a command's events and says what it did to the orders it names. */
export function matchedResult(
  s: CoreState,
  market: Market,
  command: Command,
  events: MatchingEvent[],
  rename?: string,
): CommandResult {
  const placed = command.type === CommandType.Place || command.type === CommandType.PlaceOco;
  // Orders a place sets off enter the book right after it (only a place trades, so sets off).
  applyEvents(s, market, events, placed, placed ? command.orderId : s.nextOrderId - 1);
  const marketId = market.id;
  switch (command.type) {
    case CommandType.Place: {
      const order = s.orders.get(command.orderId)!;
      // Market orders never rest: whatever their events said, they are done after their command.
      if (order.type === OrderType.Market && !isDone(order)) {
        finish(s, order, order.executedLots > 0 ? "FILLED" : "EXPIRED");
      }
      return { order, events, marketId };
    }
    case CommandType.Cancel: {
      const order = s.orders.get(command.orderId);
      // The order traded away (or was cancelled) while the cancel was on its way.
      const refused = events.some((e) => e.type === EventType.Rejected);
      return { order, events, marketId, error: refused ? unknownOrder() : undefined };
    }
    case CommandType.Reduce:
      return reduced(s, s.orders.get(command.orderId)!, events, marketId, rename);
    case CommandType.PlaceOco: {
      const orders = [command.orderId, command.orderId + 1].map((id) => s.orders.get(id)!);
      const orderList = s.lists.get(orders[0]!.orderListId!);
      return { order: orders[0], orders, orderList, events, marketId };
    }
    default: {
      const orders = events.flatMap((e) =>
        e.type === EventType.Cancelled ? [s.orders.get(e.orderId)!] : [],
      );
      return { orders, events, marketId, error: orders.length === 0 ? unknownOrder() : undefined };
    }
  }
}

/**
 * An amend's outcome: done (the order takes its new client order id, unless another open
 * order took that id while the amend was with the matching service), or refused by the book
 * (the order traded away, or down to what the amend would leave, meanwhile).
 */
function reduced(
  s: CoreState,
  order: OrderRecord,
  events: MatchingEvent[],
  marketId: number,
  rename: string | undefined,
): CommandResult {
  const refusal = events.find((e) => e.type === EventType.Rejected);
  if (refusal) {
    const error =
      refusal.reason === RejectReason.ReduceToNothing
        ? new BourseError("AMEND_REJECTED", "Order amend would leave nothing to execute.")
        : unknownOrder();
    return { order, events, marketId, error };
  }
  if (rename !== undefined && !s.openByClientId.has(clientKey(order.userId, rename))) {
    s.openByClientId.delete(clientKey(order.userId, order.clientOrderId));
    s.openByClientId.set(clientKey(order.userId, rename), order.orderId);
    order.clientOrderId = rename;
    order.amendments!.at(-1)!.newClientOrderId = rename;
  }
  return { order, events, marketId };
}
