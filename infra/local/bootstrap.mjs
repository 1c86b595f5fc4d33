// Runs before every top-level npm script on whatever Node the machine has (plain JS, Node >= 18):
// installs node_modules when they are missing or older than the lock file, so that a fresh clone
// needs no manual step. The project's own Node 24 (the `node` dev dependency) takes over afterwards.
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const lockFile = join(root, "package-lock.json");
const installedMarker = join(root, "node_modules", ".package-lock.json");
const pinnedNode = join(root, "node_modules", ".bin", "node");

function needsInstall() {
  // A linked node_modules belongs to another checkout: reinstalling through the link would empty
  // it under whoever else is using it.
  const modules = join(root, "node_modules");
  if (existsSync(modules) && lstatSync(modules).isSymbolicLink()) return undefined;
  if (!existsSync(installedMarker) || !existsSync(pinnedNode)) return "node_modules is missing";
  if (existsSync(lockFile) && statSync(lockFile).mtimeMs > statSync(installedMarker).mtimeMs) {
    return "package-lock.json changed since the last install";
  }
  return undefined;
}

const reason = needsInstall();
if (reason) {
  const command = existsSync(lockFile) ? "ci" : "install";
  console.log(`[bootstrap] ${reason}: running npm ${command} (first run only, about a minute)`);
  const result = spawnSync("npm", [command, "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`[bootstrap] npm ${command} failed with exit code ${result.status}`);
    process.exit(result.status ?? 1);
  }
}
