import { afterAll, beforeAll } from "vitest";

/**
 * A port opened for the enclosing `describe` (a conformance suite's adapter): opened before its
 * first test, closed after its last. The getter is read inside a test, where the port is open.
 */
export function openedForSuite<P extends { close(): Promise<void> }>(open: () => Promise<P>): () => P {
  let opened: P | undefined;
  beforeAll(async () => {
    opened = await open();
  });
  afterAll(async () => {
    await opened?.close();
  });
  return () => {
    if (opened === undefined) throw new Error("the port under test is read inside a test, once it is open");
    return opened;
  };
}
