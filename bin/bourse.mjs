#!/usr/bin/env node
// The `bourse` command: runs the TypeScript sources through tsx's loader, so there is no build step.
import { register } from "tsx/esm/api";

register();
await import("../components/cli/src/main.ts");
