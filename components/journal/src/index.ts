export { Journal, type JournalOptions, type TornTail } from "./journal.ts";
export { SnapshotStore } from "./snapshot.ts";
