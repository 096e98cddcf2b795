import { type Command, CommandType } from "./protocol.ts";

/**
 * Fixed binary layout of a command: COMMAND_STRIDE float64 slots
 *   type | orderId | userId | side | orderType | tif | priceTicks | qtyLots | quoteUnits | stp | stopPriceTicks
 *   | second orderType | second tif | second priceTicks | second stopPriceTicks
 * (unused slots are 0; the last four are an OCO's second leg, its first in the Place slots).
 * This is what crosses the transport between UBSCore and Matching. A shorter record (ten slots
 * before stop prices existed, eleven before OCOs) decodes too: its missing slots read as 0.
 */
export const COMMAND_STRIDE = 15;

export function encodeCommand(cmd: Command, out: Float64Array, offset = 0): void {
  out.fill(0, offset, offset + COMMAND_STRIDE);
  out[offset] = cmd.type;
  out[offset + 2] = cmd.userId;
  switch (cmd.type) {
    case CommandType.Place:
      out[offset + 1] = cmd.orderId;
      out[offset + 3] = cmd.side;
      out[offset + 4] = cmd.orderType;
      out[offset + 5] = cmd.tif;
      out[offset + 6] = cmd.priceTicks;
      out[offset + 7] = cmd.qtyLots;
      out[offset + 8] = cmd.quoteUnits;
      out[offset + 9] = cmd.stp;
      out[offset + 10] = cmd.stopPriceTicks ?? 0;
      break;
    case CommandType.Cancel:
      out[offset + 1] = cmd.orderId;
      break;
    case CommandType.Amend:
      out[offset + 1] = cmd.orderId;
      out[offset + 6] = cmd.priceTicks;
      out[offset + 7] = cmd.qtyLots;
      break;
    case CommandType.Reduce:
      out[offset + 1] = cmd.orderId;
      out[offset + 7] = cmd.qtyLots;
      break;
    case CommandType.CancelAll:
      break;
    case CommandType.PlaceOco:
      out[offset + 1] = cmd.orderId;
      out[offset + 3] = cmd.side;
      out[offset + 7] = cmd.qtyLots;
      out[offset + 8] = cmd.quoteUnits;
      out[offset + 9] = cmd.stp;
      for (const [i, slots] of OCO_LEG_SLOTS.entries()) {
        const leg = cmd.legs[i]!;
        out[offset + slots[0]] = leg.orderType;
        out[offset + slots[1]] = leg.tif;
        out[offset + slots[2]] = leg.priceTicks;
        out[offset + slots[3]] = leg.stopPriceTicks;
      }
      break;
  }
}

/** Where each OCO leg's orderType, tif, priceTicks and stopPriceTicks go. */
const OCO_LEG_SLOTS = [
  [4, 5, 6, 10],
  [11, 12, 13, 14],
] as const;

export function decodeCommand(d: Float64Array, o = 0): Command {
  const type = d[o] as CommandType;
  const userId = d[o + 2]!;
  switch (type) {
    case CommandType.Place:
      return {
        type,
        orderId: d[o + 1]!,
        userId,
        side: d[o + 3]!,
        orderType: d[o + 4]!,
        tif: d[o + 5]!,
        priceTicks: d[o + 6]!,
        qtyLots: d[o + 7]!,
        quoteUnits: d[o + 8]!,
        stp: d[o + 9]!,
        ...(d[o + 10] ? { stopPriceTicks: d[o + 10]! } : {}),
      };
    case CommandType.Cancel:
      return { type, orderId: d[o + 1]!, userId };
    case CommandType.Amend:
      return { type, orderId: d[o + 1]!, userId, priceTicks: d[o + 6]!, qtyLots: d[o + 7]! };
    case CommandType.Reduce:
      return { type, orderId: d[o + 1]!, userId, qtyLots: d[o + 7]! };
    case CommandType.CancelAll:
      return { type, userId };
    case CommandType.PlaceOco: {
      const leg = ([t, tif, price, stop]: readonly number[]) => ({
        orderType: d[o + t!]!,
        tif: d[o + tif!]!,
        priceTicks: d[o + price!]!,
        stopPriceTicks: d[o + stop!] ?? 0,
      });
      return {
        type,
        orderId: d[o + 1]!,
        userId,
        side: d[o + 3]!,
        qtyLots: d[o + 7]!,
        quoteUnits: d[o + 8]!,
        stp: d[o + 9]!,
        legs: [leg(OCO_LEG_SLOTS[0]), leg(OCO_LEG_SLOTS[1])],
      };
    }
    default:
      throw new Error(`unknown command type ${type}`);
  }
}
