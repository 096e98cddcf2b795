import { describe, expect, it } from "vitest";
import { isBourseError } from "../../domain/src/index.ts";
import { UbsCore } from "../src/core.ts";
import { dump, exchange } from "./fixtures.ts";

const T0 = 1_800_000_000_000;
const digest = (n: number) => new Uint8Array(32).fill(n);

function refusal(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (e) {
    if (isBourseError(e)) return e.code;
    throw e;
  }
}

describe("takeSignature (a WebSocket API logon taken once)", () => {
  it("takes a signature once and changes nothing else; a replay, an unknown user, no signature are refused", () => {
    const core = new UbsCore(exchange);
    for (const userId of [1, 2, 3]) core.apply({ kind: "createUser", userId });
    core.apply({ kind: "credit", userId: 1, asset: "USDT", amount: 5_00000000n });
    const before = dump(core);
    const take = (userId: number, n: number) =>
      core.apply({ kind: "takeSignature", userId, time: T0, signature: digest(n), validUntil: T0 + 5000 });

    expect(take(1, 1).events).toHaveLength(0);
    expect(refusal(() => take(1, 1))).toBe("REPLAYED");
    expect(refusal(() => take(9, 2))).toBe("UNKNOWN_USER");
    expect(refusal(() => core.apply({ kind: "takeSignature", userId: 1, time: T0 }))).toBe(
      "INVALID_ARGUMENT",
    );
    expect(dump(core)).toBe(before);
    // The same signature on an order afterwards is a replay too: one name space for both.
    expect(
      refusal(() =>
        core.apply({
          kind: "cancelAll",
          userId: 1,
          symbol: "BTCUSDT",
          time: T0,
          signature: digest(1),
          validUntil: T0 + 5000,
        }),
      ),
    ).toBe("REPLAYED");
  });
});
