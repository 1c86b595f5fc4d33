// Apache Kafka 4.x, one node in KRaft combined mode (broker + controller), run from Maven jars.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { componentPaths, daemonComponent, type StackComponent } from "./component.ts";
import { projectRoot, type StackConfig } from "./config.ts";
import { ensureKafkaJars } from "./install.ts";
import { isPortOpen, runQuiet } from "./processes.ts";

export function serverProperties(config: StackConfig, logDirs: string): string {
  const broker = `127.0.0.1:${config.STACK_KAFKA_PORT}`;
  const controller = `127.0.0.1:${config.STACK_KAFKA_CONTROLLER_PORT}`;
  return `${[
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@${controller}`,
    `listeners=PLAINTEXT://${broker},CONTROLLER://${controller}`,
    `advertised.listeners=PLAINTEXT://${broker}`,
    "inter.broker.listener.name=PLAINTEXT",
    "controller.listener.names=CONTROLLER",
    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    `log.dirs=${logDirs}`,
    "num.partitions=1",
    // One broker: internal topics must have replication factor 1 or they can never be created,
    // and consumer groups and transactions would wait forever.
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "transaction.state.log.num.partitions=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    "auto.create.topics.enable=true",
    "log.retention.hours=24",
  ].join("\n")}\n`;
}

/** Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding. */
export function randomClusterId(): string {
  return randomBytes(16).toString("base64url");
}

export function kafkaComponent(config: StackConfig): StackComponent {
  const paths = componentPaths(config, "kafka");
  const libs = () => join(config.STACK_DIR, `kafka-${config.STACK_KAFKA_VERSION}`, "libs");
  const log4j = join(projectRoot, "infra", "local", "templates", "log4j2.properties");
  const propertiesFile = join(paths.confDir, "server.properties");
  const logDirs = join(paths.dataDir, "kraft-logs");
  const java = "java";
  const classpath = () => `${libs()}/*`;

  return daemonComponent({
    name: "kafka",
    endpoint: `127.0.0.1:${config.STACK_KAFKA_PORT}`,
    paths,
    timeoutMs: config.STACK_START_TIMEOUT_SECONDS * 1000,
    install: () => {
      ensureKafkaJars(
        config.STACK_DIR,
        config.STACK_KAFKA_VERSION,
        join(projectRoot, "infra", "local", "kafka-pom.xml"),
      );
    },
    prepare: () => {
      mkdirSync(paths.confDir, { recursive: true });
      writeFileSync(propertiesFile, serverProperties(config, logDirs));
      if (!existsSync(join(logDirs, "meta.properties"))) {
        runQuiet(
          java,
          [
            "-cp",
            classpath(),
            `-Dlog4j2.configurationFile=${log4j}`,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            randomClusterId(),
            "-c",
            propertiesFile,
            "-g",
          ],
          "formatting Kafka storage",
        );
      }
      const heap = config.STACK_KAFKA_HEAP;
      return {
        command: java,
        args: [
          `-Xms${heap}`,
          `-Xmx${heap}`,
          "-XX:+UseG1GC",
          "-XX:MaxGCPauseMillis=20",
          "-XX:InitiatingHeapOccupancyPercent=35",
          "-XX:+ExplicitGCInvokesConcurrent",
          "-Djava.awt.headless=true",
          `-Dlog4j2.configurationFile=${log4j}`,
          `-Dkafka.logs.dir=${join(config.STACK_DIR, "logs")}`,
          "-cp",
          classpath(),
          "kafka.Kafka",
          propertiesFile,
        ],
        cwd: paths.dataDir,
      };
    },
    isHealthy: async () => {
      if (!(await isPortOpen(config.STACK_KAFKA_PORT))) return false;
      // A broker we started is ready once it says so; one started elsewhere is trusted once it listens.
      if (!existsSync(paths.pidFile)) return true;
      return existsSync(paths.logFile) && readFileSync(paths.logFile, "utf8").includes("Kafka Server started");
    },
  });
}
