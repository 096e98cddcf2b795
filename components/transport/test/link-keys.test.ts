import { mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../config/src/index.ts";
import { linkTransport } from "../src/link-keys.ts";
import { tcpTransport } from "../src/tcp.ts";

/** Where the link keys come from: made on first use under the data dir, shared, owner-only. */
describe("link keys", () => {
  it("are made once by whichever process needs one first; both ends starting together agree", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "bourse-links-"));
    // Two "processes" on one data dir, each with its own view of the key, racing to make it.
    const config = validateConfig({ dataDir });
    const [server, client] = [
      linkTransport(config, tcpTransport, "gateway", "ubscore"),
      linkTransport(config, tcpTransport, "gateway", "ubscore"),
    ];
    const [listening] = await Promise.all([
      server.listen("127.0.0.1:0", (ch) => ch.onMessage((m) => ch.send(m))),
      // A listener of its own: only to make the key concurrently with the one above.
      client.listen("127.0.0.1:0", () => {}).then((s) => s.close()),
    ]);
    const channel = await client.connect(listening.address);
    const echoed = new Promise((resolve) => channel.onMessage(resolve));
    channel.send(Buffer.from("hi"));
    expect(Buffer.from((await echoed) as Uint8Array).toString()).toBe("hi");
    channel.close();
    await listening.close();
    const dir = join(dataDir, "links");
    expect(await readdir(dir)).toEqual(["gateway-ubscore"]);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, "gateway-ubscore"))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dir, "gateway-ubscore"), "latin1")).trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses a key file that is not one, and a key dir where none can be made, with INVALID_CONFIG", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "bourse-links-"));
    const keyDir = join(dataDir, "keys");
    await writeFile(join(dataDir, "not-a-dir"), "");
    await expect(
      linkTransport(
        validateConfig({ dataDir, links: { keyDir: join(dataDir, "not-a-dir") } }),
        tcpTransport,
        "ubscore",
        "matching",
      ).listen("127.0.0.1:0", () => {}),
    ).rejects.toMatchObject({ code: "INVALID_CONFIG" });
    const config = validateConfig({ dataDir, links: { keyDir } });
    const server = await linkTransport(config, tcpTransport, "ubscore", "matching").listen(
      "127.0.0.1:0",
      () => {},
    );
    await server.close();
    await writeFile(join(keyDir, "ubscore-settlement"), "short\n");
    await expect(
      linkTransport(config, tcpTransport, "ubscore", "settlement").connect("127.0.0.1:1"),
    ).rejects.toMatchObject({ code: "INVALID_CONFIG" });
  });
});
