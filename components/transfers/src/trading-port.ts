import type { UbsCoreService } from "../../ubscore/src/index.ts";
import type { TradingBalancePort } from "./transfer-saga.ts";

/** The saga's UBSCore side over the durable UBSCore service (each call journaled, applied once). */
export function ubsCoreTradingPort(service: UbsCoreService): TradingBalancePort {
  return {
    async transferIn(transferSeq, userId, asset, amount) {
      await service.submit({ kind: "transferIn", transferSeq, userId, asset, amount });
    },
    async transferOut(transferSeq, userId, asset, amount) {
      await service.submit({ kind: "transferOut", transferSeq, userId, asset, amount });
    },
  };
}
