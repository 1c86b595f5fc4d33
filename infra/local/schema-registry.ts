// Apicurio Registry 3.x, used through its Confluent-compatible API, with its state in an H2 file
// database under the stack's data folder: schemas and their ids outlive a restart, so records
// written before it still name the schema they were written with, and no id is handed out twice.
// A file rather than Apicurio's kafkasql journal topic: the registry keeps answering lookups while
// the broker restarts, and needs no Kafka principal or ACLs of its own in the secured modes.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { componentPaths, daemonComponent, type StackComponent } from "./component.ts";
import type { StackConfig } from "./config.ts";
import { apicurioRunJar, ensureApicurio, ensureJava } from "./install.ts";
import { httpOk } from "./processes.ts";

/** Apicurio 3.2 and later are compiled for Java 21. */
const minimumJava = 21;

export function schemaRegistryComponent(config: StackConfig): StackComponent {
  const paths = componentPaths(config, "schema-registry");
  const home = () => join(config.STACK_DIR, `apicurio-${config.STACK_APICURIO_VERSION}`);
  const base = `http://127.0.0.1:${config.STACK_REGISTRY_PORT}`;
  let java = "";

  return daemonComponent({
    name: "schema-registry",
    endpoint: `${base}/apis/ccompat/v7`,
    paths,
    timeoutMs: config.STACK_START_TIMEOUT_SECONDS * 1000,
    install: () => {
      ensureApicurio(config.STACK_DIR, config.STACK_APICURIO_VERSION);
      java = ensureJava(config.STACK_DIR, minimumJava, config.STACK_REGISTRY_JAVA_HOME);
    },
    prepare: () => {
      mkdirSync(paths.dataDir, { recursive: true });
      // WRITE_DELAY=0: H2 writes each commit at once; its default (500 ms) loses what a kill -9 catches.
      const database = `jdbc:h2:file:${join(paths.dataDir, "registry")};WRITE_DELAY=0`;
      return {
        command: java,
        args: [
          "-Xms128m",
          "-Xmx512m",
          "-Dquarkus.http.host=127.0.0.1",
          `-Dquarkus.http.port=${config.STACK_REGISTRY_PORT}`,
          // Quarkus's management interface defaults to 0.0.0.0:9000, ClickHouse's native port.
          "-Dquarkus.management.host=127.0.0.1",
          `-Dquarkus.management.port=${config.STACK_REGISTRY_MANAGEMENT_PORT}`,
          "-Dapicurio.storage.kind=sql",
          "-Dapicurio.storage.sql.kind=h2",
          `-Dapicurio.datasource.url=${database}`,
          "-jar",
          apicurioRunJar(home()),
        ],
        cwd: paths.dataDir,
      };
    },
    isHealthy: () => httpOk(`${base}/apis/ccompat/v7/subjects`),
  });
}
