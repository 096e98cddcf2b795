import { TransferFlags } from "tigerbeetle-node";
import type { ExchangeDefinition } from "../../domain/src/index.ts";
import { assertNever, tradeAmounts } from "../../domain/src/index.ts";
import {
  type Account,
  AccountKind,
  accountId,
  postInternalTransfer,
  type Transfer,
  TransferCode,
  TransferKind,
  transfer,
  transferId,
  userAccounts,
} from "../../ledger/src/index.ts";
import { EventType } from "../../matching/src/index.ts";
import type { CommandResult, UbsCommand } from "../../ubscore/src/index.ts";

/**
 * What each UBSCore command means in the ledger (pure): the accounts it needs and the transfers
 * that mirror its money movements into the users' Trading accounts, so that the ledger and
 * UBSCore can be reconciled unit for unit.
 *  deposit (credit):        Deposits(asset)            -> Trading(user, asset)
 *  debit:                   Trading(user, asset)       -> Deposits(asset)
 *  withdrawal held:         Trading(user, asset)       -> WithdrawalsInFlight(asset), pending
 *  withdrawal completed:    post of that pending transfer; then WithdrawalsInFlight -> Deposits
 *  withdrawal cancelled:    void of that pending transfer
 *  trade (one linked chain, all legs or none):
 *    base  Trading(seller, base)  -> Trading(buyer, base)     quantity
 *    quote Trading(buyer, quote)  -> Trading(seller, quote)   notional
 *    fee   Trading(buyer, quote)  -> Fees(quote)              buyer's fee   (when > 0)
 *    fee   Trading(seller, quote) -> Fees(quote)              seller's fee  (when > 0)
 * Transfer ids derive from the journal position (deposits, debits), the withdrawal's sequence and
 * the trade ids, so settling the same command again produces the same ids and the ledger answers
 * `exists`.
 */
export interface LedgerEntries {
  readonly accounts: Account[];
  readonly transfers: Transfer[];
}

const NONE: LedgerEntries = { accounts: [], transfers: [] };
const only = (...transfers: Transfer[]): LedgerEntries => ({ accounts: [], transfers });
const trading = (assetId: number, userId: number) => accountId(AccountKind.Trading, assetId, userId);
const system = (kind: AccountKind, assetId: number) => accountId(kind, assetId);

export function entriesFor(
  exchange: ExchangeDefinition,
  cmd: UbsCommand,
  result: CommandResult,
  lsn: number,
): LedgerEntries {
  switch (cmd.kind) {
    case "createUser":
      return { accounts: userAccounts(exchange, cmd.userId), transfers: [] };
    case "addUser":
      return { accounts: userAccounts(exchange, result.userId!), transfers: [] };
    case "credit":
    case "debit":
      // A deposit credited already (by its id): the ledger has it.
      return result.repeated ? NONE : only(depositOrDebit(exchange, cmd, lsn));
    case "holdWithdrawal":
      return only(heldWithdrawal(exchange, cmd, result.withdrawal!.seq));
    case "completeWithdrawal":
    case "cancelWithdrawal":
      return result.repeated ? NONE : only(...settledWithdrawal(cmd.kind, result.withdrawal!));
    case "transferIn":
      // The saga reserved Funding -> Trading as a pending transfer; UBSCore's credit posts it.
      return result.repeated ? NONE : only(postInternalTransfer(cmd.transferSeq, cmd.amount));
    case "transferOut":
      return result.repeated ? NONE : only(transferOut(exchange, cmd));
    case "place":
    case "placeOco":
    case "placeOto":
    case "cancel":
    case "cancelAll":
    case "amend":
    case "matched":
      // Run by matching here or in a matching service: trades, if any, settle; the rest is none.
      if (result.marketId === undefined) return NONE;
      return only(...tradeChains(exchange, result));
    case "halt":
    case "resume":
    case "listenKey":
    case "takeSignature":
      return NONE;
    default:
      return assertNever(cmd);
  }
}

type CommandOf<K extends UbsCommand["kind"]> = Extract<UbsCommand, { kind: K }>;

/** A deposit: Deposits -> Trading; a debit: the other way. Ids from the journal position. */
function depositOrDebit(
  exchange: ExchangeDefinition,
  cmd: CommandOf<"credit" | "debit">,
  lsn: number,
): Transfer {
  const asset = exchange.asset(cmd.asset)!;
  const deposits = system(AccountKind.Deposits, asset.id);
  const user = trading(asset.id, cmd.userId);
  const credit = cmd.kind === "credit";
  return transfer({
    id: transferId(credit ? TransferKind.Deposit : TransferKind.Withdrawal, 0, lsn, 0),
    debit_account_id: credit ? deposits : user,
    credit_account_id: credit ? user : deposits,
    amount: cmd.amount,
    ledger: asset.id,
    code: credit ? TransferCode.Deposit : TransferCode.Withdrawal,
  });
}

/** A withdrawal held: Trading -> WithdrawalsInFlight, pending. */
function heldWithdrawal(
  exchange: ExchangeDefinition,
  cmd: CommandOf<"holdWithdrawal">,
  seq: number,
): Transfer {
  const asset = exchange.asset(cmd.asset)!;
  return transfer({
    id: transferId(TransferKind.Withdrawal, 1, seq, 0),
    debit_account_id: trading(asset.id, cmd.userId),
    credit_account_id: system(AccountKind.WithdrawalsInFlight, asset.id),
    amount: cmd.amount,
    ledger: asset.id,
    code: TransferCode.Withdrawal,
    flags: TransferFlags.pending,
  });
}

/** The held withdrawal voided; or posted, then out of the exchange through the omnibus account. */
function settledWithdrawal(
  kind: "completeWithdrawal" | "cancelWithdrawal",
  w: { readonly seq: number; readonly assetId: number; readonly amount: bigint },
): Transfer[] {
  const complete = kind === "completeWithdrawal";
  const settle = transfer({
    id: transferId(TransferKind.Withdrawal, 2, w.seq, 0),
    debit_account_id: 0n,
    credit_account_id: 0n,
    amount: complete ? w.amount : 0n,
    pending_id: transferId(TransferKind.Withdrawal, 1, w.seq, 0),
    ledger: 0,
    code: 0,
    flags: complete
      ? TransferFlags.post_pending_transfer | TransferFlags.linked
      : TransferFlags.void_pending_transfer,
  });
  if (!complete) return [settle];
  const out = transfer({
    id: transferId(TransferKind.Withdrawal, 2, w.seq, 1),
    debit_account_id: system(AccountKind.WithdrawalsInFlight, w.assetId),
    credit_account_id: system(AccountKind.Deposits, w.assetId),
    amount: w.amount,
    ledger: w.assetId,
    code: TransferCode.Withdrawal,
  });
  return [settle, out];
}

/** Trading -> Funding, once UBSCore has debited the trading balance. */
function transferOut(exchange: ExchangeDefinition, cmd: CommandOf<"transferIn" | "transferOut">): Transfer {
  const asset = exchange.asset(cmd.asset)!;
  return transfer({
    id: transferId(TransferKind.InternalTransfer, 1, cmd.transferSeq, 0),
    debit_account_id: trading(asset.id, cmd.userId),
    credit_account_id: accountId(AccountKind.Funding, asset.id, cmd.userId),
    amount: cmd.amount,
    ledger: asset.id,
    code: TransferCode.InternalTransfer,
  });
}

function tradeChains(exchange: ExchangeDefinition, result: CommandResult): Transfer[] {
  const market = exchange.marketById(result.marketId!)!;
  const out: Transfer[] = [];
  for (const e of result.events) {
    if (e.type !== EventType.Trade) continue;
    const takerIsBuyer = e.takerSide === 0;
    const buyer = takerIsBuyer ? e.takerUserId : e.makerUserId;
    const seller = takerIsBuyer ? e.makerUserId : e.takerUserId;
    const { baseUnits, quoteUnits, buyerFee, sellerFee } = tradeAmounts(
      market,
      e.priceTicks,
      e.qtyLots,
      takerIsBuyer,
    );
    const b = market.base.id;
    const q = market.quote.id;
    const legs: [bigint, bigint, bigint, number, TransferCode][] = [
      [
        accountId(AccountKind.Trading, b, seller),
        accountId(AccountKind.Trading, b, buyer),
        baseUnits,
        b,
        TransferCode.TradeBase,
      ],
      [
        accountId(AccountKind.Trading, q, buyer),
        accountId(AccountKind.Trading, q, seller),
        quoteUnits,
        q,
        TransferCode.TradeQuote,
      ],
    ];
    // Each side's fee out of what it received: the buyer's in base, the seller's in quote.
    if (buyerFee > 0n)
      legs.push([
        accountId(AccountKind.Trading, b, buyer),
        accountId(AccountKind.Fees, b),
        buyerFee,
        b,
        TransferCode.TradeFee,
      ]);
    if (sellerFee > 0n)
      legs.push([
        accountId(AccountKind.Trading, q, seller),
        accountId(AccountKind.Fees, q),
        sellerFee,
        q,
        TransferCode.TradeFee,
      ]);
    // A self-trade moves nothing between accounts; only its fees leave.
    const effective = legs.filter(([dr, cr]) => dr !== cr);
    effective.forEach(([dr, cr, amount, ledger, code], leg) => {
      out.push(
        transfer({
          id: transferId(TransferKind.TradeSettlement, market.id, e.tradeId, leg),
          debit_account_id: dr,
          credit_account_id: cr,
          amount,
          ledger,
          code,
          flags: leg < effective.length - 1 ? TransferFlags.linked : 0,
        }),
      );
    });
  }
  return out;
}
