// Moved to components/storage; kept until the gateway's import (keys.ts) points there.
export { fsyncDir, PRIVATE_DIR, PRIVATE_FILE } from "../../storage/src/private-files.ts";
