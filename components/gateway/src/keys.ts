import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { fsyncDir, PRIVATE_DIR, PRIVATE_FILE } from "../../journal/src/fsutil.ts";

/**
 * API keys (Binance style: a public key sent in X-MBX-APIKEY, a secret that signs requests with
 * HMAC-SHA256). Kept in one JSON file, rewritten atomically on each change (keys change rarely),
 * readable by the owner only.
 */
export interface ApiKey {
  readonly apiKey: string;
  readonly secretKey: string;
  readonly userId: number;
  readonly label: string;
}

/** What authentication needs: the key record by its public half. */
export interface ApiKeyLookup {
  get(apiKey: string): ApiKey | undefined;
}

/**
 * The keys a gateway replica knows: everything the UBSCore process sent at subscribe and since
 * (keys are created only through the operator API, which runs there).
 */
export class KeyRing implements ApiKeyLookup {
  private readonly byKey = new Map<string, ApiKey>();

  add(key: ApiKey): void {
    this.byKey.set(key.apiKey, key);
  }

  get(apiKey: string): ApiKey | undefined {
    return this.byKey.get(apiKey);
  }
}

export class ApiKeyStore implements ApiKeyLookup {
  private readonly byKey = new Map<string, ApiKey>();
  private readonly created: ((key: ApiKey) => void)[] = [];
  /** Writes of the file, one after another: two at once would share its temporary file. */
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly path: string) {}

  static async open(path: string): Promise<ApiKeyStore> {
    const store = new ApiKeyStore(path);
    try {
      const keys = JSON.parse(await readFile(path, "utf8")) as ApiKey[];
      for (const k of keys) store.byKey.set(k.apiKey, k);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    return store;
  }

  get(apiKey: string): ApiKey | undefined {
    return this.byKey.get(apiKey);
  }

  all(): ApiKey[] {
    return [...this.byKey.values()];
  }

  async create(userId: number, label: string): Promise<ApiKey> {
    const key: ApiKey = {
      apiKey: randomBytes(32).toString("hex"),
      secretKey: randomBytes(32).toString("hex"),
      userId,
      label,
    };
    this.byKey.set(key.apiKey, key);
    const written = this.writing.then(() => this.persist());
    this.writing = written.catch(() => {});
    await written;
    for (const listener of this.created) listener(key);
    return key;
  }

  /** Called with every key created from now on (after it is stored). */
  onCreated(listener: (key: ApiKey) => void): void {
    this.created.push(listener);
  }

  private async persist(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: PRIVATE_DIR });
    const tmp = `${this.path}.tmp`;
    const handle = await open(tmp, "w", PRIVATE_FILE);
    try {
      await handle.writeFile(JSON.stringify(this.all(), null, 2));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.path);
    await fsyncDir(dirname(this.path));
  }
}

export function sign(secretKey: string, payload: string): string {
  return createHmac("sha256", secretKey).update(payload).digest("hex");
}

export function signatureMatches(secretKey: string, payload: string, signature: string): boolean {
  const expected = Buffer.from(sign(secretKey, payload), "hex");
  const given = Buffer.from(signature, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
