import { join } from "node:path";
import { isBourseError } from "../../domain/src/errors.ts";
import type { ExchangeDefinition } from "../../domain/src/exchange.ts";
import { Journal } from "../../journal/src/journal.ts";
import { decodeCommand, encodeCommand } from "./codec.ts";
import { type CommandResult, UbsCore } from "./core.ts";
import type { UbsCommand } from "./types.ts";

export type CommandListener = (cmd: UbsCommand, result: CommandResult) => void;

/**
 * UBSCore with durability: every command is appended to the journal and runs only once the
 * journal has fsynced it (group commit), in journal order, so whatever a caller was told has
 * happened survives a crash, and restart = replay of the journal through a fresh core.
 */
export class UbsCoreService {
  private readonly listeners: CommandListener[] = [];

  private constructor(
    readonly core: UbsCore,
    private readonly journal: Journal,
    /** How many journaled commands the last open replayed. */
    readonly replayedCommands: number,
  ) {}

  static async open(dataDir: string, exchange: ExchangeDefinition): Promise<UbsCoreService> {
    const journal = await Journal.open(join(dataDir, "ubscore", "journal"));
    const core = new UbsCore(exchange);
    await journal.replay(1, (payload) => runCommand(core, decodeCommand(payload)));
    return new UbsCoreService(core, journal, journal.nextLsn - 1);
  }

  /** Journals the command, then applies it; resolves with its result or rejects with its error. */
  async submit(cmd: UbsCommand): Promise<CommandResult> {
    await this.journal.append(encodeCommand(cmd));
    const result = this.core.apply(cmd);
    for (const listener of this.listeners) listener(cmd, result);
    return result;
  }

  onCommand(listener: CommandListener): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    await this.journal.close();
  }
}

/** Replays one journaled command; a command that was rejected the first time is rejected again. */
function runCommand(core: UbsCore, cmd: UbsCommand): void {
  try {
    core.apply(cmd);
  } catch (e) {
    if (!isBourseError(e) || e.code === "INTERNAL") throw e;
  }
}
