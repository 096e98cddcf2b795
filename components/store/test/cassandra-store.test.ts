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

const open = (keyspace: string) => () =>
  CassandraStore.connect({
    contactPoints: server.contactPoints,
    localDataCenter: server.localDataCenter,
    keyspace,
  });

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
});
