import { runtimeSharesPorts } from "../../components/exchange/src/index.ts";

/**
 * How many gateway threads the suites run the embedded exchange on (gateway.threads): two where
 * this Node shares the trading port between threads, one where it cannot (before 22.12).
 */
export const TEST_GATEWAY_THREADS = runtimeSharesPorts() ? 2 : 1;
