import cassandra from "cassandra-driver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CassandraServer, startCassandra } from "../../../tests/infra/cassandra.ts";
import { CassandraStore } from "../src/cassandra-store.ts";
import { order, storeConformance } from "./conformance.ts";

let server: CassandraServer;
beforeAll(async () => {
  server = await startCassandra();
});
afterAll(async () => {
  await server?.stop();
});

const options = (keyspace: string) => ({
  contactPoints: server.contactPoints,
  localDataCenter: server.localDataCenter,
  keyspace,
});
const open = (keyspace: string) => () => CassandraStore.connect(options(keyspace));

storeConformance("Cassandra (real node, CQL that ScyllaDB also runs)", open("bourse_conformance"));

describe("CassandraStore migrations", () => {
  it("applies its schema once: connecting again keeps the data", async () => {
    const first = await open("bourse_migrations")();
    await first.write({ orders: [order(5, "NEW", 0)], trades: [] });
    await first.close();
    const second = await open("bourse_migrations")();
    expect(await second.order(5)).toMatchObject({ status: "NEW" });
    await second.close();
  });

  it("a reader (a gateway) reads what the writers wrote, creating and migrating nothing", async () => {
    const keyspace = "bourse_reader";
    const reader = await CassandraStore.connect({ ...options(keyspace), reader: true });
    // Before any writer: the keyspace does not exist, and a reader does not make it.
    await expect(reader.order(5)).rejects.toThrow();
    const writer = await open(keyspace)();
    await writer.write({ orders: [order(5, "NEW", 0)], trades: [] });
    await writer.close();
    expect(await reader.order(5)).toMatchObject({ status: "NEW" });
    await reader.close();
  });

  it("two writers migrating a new keyspace at once both start, on one schema", async () => {
    const [a, b] = await Promise.all([open("bourse_race")(), open("bourse_race")()]);
    await a.write({ orders: [order(8, "NEW", 0)], trades: [] });
    expect(await b.order(8)).toEqual(order(8, "NEW", 0));
    await Promise.all([a.close(), b.close()]);
  });

  it("migration 3 finds orders stored before it by their client id", async () => {
    const keyspace = "bourse_migration_3";
    const first = await open(keyspace)();
    await first.write({ orders: [order(6, "NEW", 0), order(7, "FILLED", 10)], trades: [] });
    await first.close();
    // As a store from before migration 3: no client id rows, the migration not applied.
    const cql = new cassandra.Client({
      contactPoints: server.contactPoints,
      localDataCenter: server.localDataCenter,
      keyspace,
    });
    await cql.execute("TRUNCATE orders_by_client_id");
    await cql.execute("DELETE FROM schema_migrations WHERE version = 3");
    await cql.shutdown();
    const upgraded = await open(keyspace)();
    expect(await upgraded.orderByClientId(7, 1, "c7")).toMatchObject({ orderId: 7, status: "FILLED" });
    expect(await upgraded.orderByClientId(7, 1, "c6")).toMatchObject({ orderId: 6 });
    await upgraded.close();
  });
});

// Every promise of the store settles through a crash of its server: vitest fails the run on an
// unhandled rejection, and a read that never settled would time the case out.
describe("CassandraStore: error paths against the real node", () => {
  it("settles every read and write in flight when the node crashes, and works again once it is back", async () => {
    const store = await open("bourse_crash")();
    try {
      await store.write({ orders: [order(9, "NEW", 0)], trades: [] });
      const inFlight = Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? store.order(9) : store.write({ orders: [order(100 + i, "NEW", 0)], trades: [] })).then(
          () => "done",
          (e: Error) => e,
        ),
      );
      const crash = server.restart();
      const outcomes = await Promise.all(inFlight);
      for (const o of outcomes) expect(o === "done" || o instanceof Error).toBe(true);
      await crash;
      let back: unknown;
      for (let i = 0; i < 240 && !back; i++) {
        back = await store.order(9).catch(() => undefined);
        if (!back) await new Promise((r) => setTimeout(r, 250));
      }
      expect(back).toMatchObject({ orderId: 9, status: "NEW" });
    } finally {
      await store.close();
    }
    // A Cassandra restart takes its JVM's start: well over a minute on a loaded machine.
  }, 240_000);
});
