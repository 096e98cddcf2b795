import {
  createHash,
  createHmac,
  createPublicKey,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
  verify,
} from "node:crypto";
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { BourseError } from "../../domain/src/index.ts";
import { fsyncDir, PRIVATE_DIR, PRIVATE_FILE } from "../../storage/src/index.ts";

/**
 * API keys (Binance style: a public key sent in X-MBX-APIKEY, and what signs requests: a secret
 * shared with us for HMAC-SHA256, or an Ed25519 key pair whose public half (PEM) the operator
 * registered). Kept in one JSON file, rewritten atomically on each change (keys change rarely),
 * readable by the owner only.
 */
export type ApiKey = HmacKey | Ed25519Key;

interface KeyCommon {
  readonly apiKey: string;
  readonly userId: number;
  readonly label: string;
}

export interface HmacKey extends KeyCommon {
  /** Absent in files written before key types existed: those keys are all HMAC. */
  readonly type?: "HMAC";
  readonly secretKey: string;
}

export interface Ed25519Key extends KeyCommon {
  readonly type: "ED25519";
  /** SPKI PEM of the user's Ed25519 public key. */
  readonly publicKey: string;
}

/** An Ed25519 public key in PEM, checked: anything else (another algorithm, garbage) is refused. */
export function ed25519PublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch {
    throw new BourseError("INVALID_ARGUMENT", "publicKey is not a PEM public key");
  }
  if (key.asymmetricKeyType !== "ed25519")
    throw new BourseError("INVALID_ARGUMENT", "publicKey is not an Ed25519 key");
  return key;
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

  /** A new HMAC key: its secret is made here and handed out once. */
  create(userId: number, label: string): Promise<HmacKey> {
    const secretKey = randomBytes(32).toString("hex");
    return this.add({ apiKey: newApiKey(), type: "HMAC", secretKey, userId, label });
  }

  /** A new Ed25519 key: the user keeps the private half; we keep the public one (PEM). */
  registerEd25519(userId: number, label: string, publicKeyPem: string): Promise<Ed25519Key> {
    // Stored as re-exported: one canonical spelling of the key.
    const publicKey = ed25519PublicKey(publicKeyPem).export({ type: "spki", format: "pem" }) as string;
    return this.add({ apiKey: newApiKey(), type: "ED25519", publicKey, userId, label });
  }

  private async add<K extends ApiKey>(key: K): Promise<K> {
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

function newApiKey(): string {
  return randomBytes(32).toString("hex");
}

export function sign(secretKey: string, payload: string): string {
  return hmac(secretKey, payload).toString("hex");
}

/** The HMAC-SHA256 of `payload` under `secretKey`: what a key of type HMAC signs with. */
function hmac(secretKey: string, payload: string): Buffer {
  return createHmac("sha256", secretKey).update(payload).digest();
}

/**
 * The signature's bytes if `signature` signs `payload` with `key` (HMAC: 64 hex digits; Ed25519:
 * base64 of 64 bytes), else undefined. These bytes name the request for replay protection: an
 * HMAC's 32 bytes as they are, an Ed25519 signature's 64 by their SHA-256 (UBSCore keeps 32).
 */
export function verifiedSignature(key: ApiKey, payload: string, signature: string): Uint8Array | undefined {
  if (key.type === "ED25519") {
    if (!/^[A-Za-z0-9+/]{86}==$/.test(signature)) return undefined;
    const given = Buffer.from(signature, "base64");
    const ok = verify(null, Buffer.from(payload), publicKeyObject(key.publicKey), given);
    return ok ? createHash("sha256").update(given).digest() : undefined;
  }
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) return undefined;
  // The digest's bytes as they are: no hex written out and read back for every request.
  const expected = hmac(key.secretKey, payload);
  const given = Buffer.from(signature, "hex");
  return timingSafeEqual(given, expected) ? given : undefined;
}

/** Parsed public keys, by their PEM: parsing costs more than verifying. */
const publicKeys = new Map<string, KeyObject>();

function publicKeyObject(pem: string): KeyObject {
  let key = publicKeys.get(pem);
  if (!key) {
    key = createPublicKey(pem);
    publicKeys.set(pem, key);
  }
  return key;
}
