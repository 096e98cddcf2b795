import type { TransferRecord, TransferType } from "../../transfers/src/index.ts";

/** What the gateway needs of Funding wallets and Funding <-> Trading transfers. */
export interface FundingPort {
  transfer(req: {
    userId: number;
    type: TransferType;
    asset: string;
    amount: bigint;
    clientTranId: string;
    time: number;
  }): Promise<TransferRecord>;
  history(userId: number, type: TransferType): Promise<TransferRecord[]>;
  /** Funding balances per asset symbol: free and locked (reserved by a transfer in flight). */
  balances(userId: number): Promise<{ asset: string; free: bigint; locked: bigint }[]>;
}
