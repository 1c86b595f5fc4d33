// Apache Kafka 4.x, one node in KRaft combined mode (broker + controller), run from Maven jars.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AclEntry, defaultServiceUsers, pipelineAcls } from "../../services/shared/kafka/acls.ts";
import { countAcls, createAcls, createKafka, type KafkaConnectionConfig } from "../../services/shared/kafka/client.ts";
import { ensureTopics } from "../../services/shared/kafka/topics.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { pipelineTopicSpecs } from "../../services/shared/pipeline/records.ts";
import { getPipeline } from "../../services/shared/pipelines/index.ts";
import { waitUntil } from "../../services/shared/wait.ts";
import { componentPaths, daemonComponent, type StackComponent } from "./component.ts";
import { projectRoot, type StackConfig } from "./config.ts";
import { ensureKafkaJars } from "./install.ts";
import { ensureKafkaTls, type KafkaTlsFiles, kafkaTlsFiles } from "./kafka-tls.ts";
import { isPortOpen, runQuiet } from "./processes.ts";

/** The super user of a secured stack: the broker's own connections and provisioning use it. */
export const kafkaAdminUser = "admin";
const kafkaUsers = [kafkaAdminUser, ...Object.values(defaultServiceUsers)];

/** User name → password of a secured stack. */
export type KafkaCredentials = Record<string, string>;

function jaas(module: "scram.ScramLoginModule" | "plain.PlainLoginModule", password: string, extra = ""): string {
  return `org.apache.kafka.common.security.${module} required username="${kafkaAdminUser}" password="${password}"${extra};`;
}

/** What a secured broker's config holds: the admin's password and, for sasl_ssl, the TLS stores. */
export interface KafkaSecrets {
  adminPassword: string;
  tls?: KafkaTlsFiles;
}

function tlsProperties(tls: KafkaTlsFiles | undefined): string[] {
  if (!tls) throw new Error("a TLS listener needs the stack's keystore");
  return [
    "ssl.keystore.type=PKCS12",
    `ssl.keystore.location=${tls.keystore}`,
    `ssl.keystore.password=${tls.storePassword}`,
    `ssl.key.password=${tls.storePassword}`,
    "ssl.truststore.type=PKCS12",
    `ssl.truststore.location=${tls.truststore}`,
    `ssl.truststore.password=${tls.storePassword}`,
    "ssl.enabled.protocols=TLSv1.3,TLSv1.2",
  ];
}

function listenerProperties(config: StackConfig, secrets: KafkaSecrets | undefined): string[] {
  const broker = `127.0.0.1:${config.STACK_KAFKA_PORT}`;
  const controller = `127.0.0.1:${config.STACK_KAFKA_CONTROLLER_PORT}`;
  if (config.STACK_KAFKA_SECURITY === "plaintext") {
    return [
      `listeners=PLAINTEXT://${broker},CONTROLLER://${controller}`,
      `advertised.listeners=PLAINTEXT://${broker}`,
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    ];
  }
  if (!secrets) throw new Error("a secured Kafka needs the admin password");
  const { adminPassword } = secrets;
  const tls = config.STACK_KAFKA_SECURITY === "sasl_ssl";
  const listener = tls ? "SASL_SSL" : "SASL_PLAINTEXT";
  return [
    `listeners=${listener}://${broker},CONTROLLER://${controller}`,
    `advertised.listeners=${listener}://${broker}`,
    `inter.broker.listener.name=${listener}`,
    // The controller port stays on loopback without TLS, but it too requires SASL.
    `listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,${listener}:${listener}`,
    ...(tls ? tlsProperties(secrets.tls) : []),
    "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512",
    "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
    // Each enabled mechanism needs its own login entry; the broker's own connections use SHA-512.
    ...["scram-sha-256", "scram-sha-512"].map(
      (mechanism) =>
        `listener.name.${listener.toLowerCase()}.${mechanism}.sasl.jaas.config=${jaas("scram.ScramLoginModule", adminPassword)}`,
    ),
    // SCRAM users live in the metadata log, which the controller serves, so the controller
    // listener authenticates with PLAIN against this one configured user instead. A plaintext
    // controller listener would let anyone in as ANONYMOUS, which would have to be a super user.
    "sasl.mechanism.controller.protocol=PLAIN",
    "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
    `listener.name.controller.plain.sasl.jaas.config=${jaas("plain.PlainLoginModule", adminPassword, ` user_${kafkaAdminUser}="${adminPassword}"`)}`,
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    `super.users=User:${kafkaAdminUser}`,
    "allow.everyone.if.no.acl.found=false",
  ];
}

export function serverProperties(config: StackConfig, logDirs: string, secrets?: KafkaSecrets): string {
  const controller = `127.0.0.1:${config.STACK_KAFKA_CONTROLLER_PORT}`;
  return `${[
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@${controller}`,
    ...listenerProperties(config, secrets),
    "controller.listener.names=CONTROLLER",
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

/**
 * Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding; one that starts with
 * "-" would be read as an option by the storage tool (Kafka's own ids avoid it the same way).
 */
export function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

/**
 * The per-stack SCRAM passwords, made once and kept (mode 600): `credentials.json`, and one
 * `<user>.password` file per user for KAFKA_SASL_PASSWORD_FILE.
 */
export function kafkaCredentials(confDir: string): KafkaCredentials {
  const file = join(confDir, "credentials.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as KafkaCredentials;
  const credentials: KafkaCredentials = Object.fromEntries(
    kafkaUsers.map((user) => [user, randomBytes(18).toString("base64url")]),
  );
  mkdirSync(confDir, { recursive: true, mode: 0o700 });
  for (const [user, password] of Object.entries(credentials)) {
    writeFileSync(join(confDir, `${user}.password`), password, { mode: 0o600 });
  }
  writeFileSync(file, `${JSON.stringify(credentials)}\n`, { mode: 0o600 });
  return credentials;
}

/** How a service (or test) connects to this stack's Kafka as `user`. */
export function kafkaClientConfig(config: StackConfig, user?: string): KafkaConnectionConfig {
  const tls = config.STACK_KAFKA_SECURITY === "sasl_ssl";
  const base = {
    KAFKA_BROKERS: [`127.0.0.1:${config.STACK_KAFKA_PORT}`],
    KAFKA_CLIENT_ID: `streamscore-${user ?? "stack"}`,
    KAFKA_SSL: tls,
    KAFKA_SSL_CA_FILE: tls ? kafkaTlsFiles(componentPaths(config, "kafka").confDir).caPem : undefined,
  };
  if (config.STACK_KAFKA_SECURITY === "plaintext" || user === undefined) {
    return { ...base, KAFKA_SASL_MECHANISM: "none", KAFKA_SASL_USERNAME: undefined, KAFKA_SASL_PASSWORD: undefined };
  }
  const password = kafkaCredentials(componentPaths(config, "kafka").confDir)[user];
  if (!password) throw new Error(`no Kafka user "${user}" in this stack (known: ${kafkaUsers.join(", ")})`);
  return { ...base, KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SASL_USERNAME: user, KAFKA_SASL_PASSWORD: password };
}

/**
 * The settings a service process needs to reach this stack's Kafka as `user`: none on a plaintext
 * stack; on a secured one the user and the path of its password file (never the password itself,
 * which would show in the process's environment).
 */
export function kafkaServiceEnvironment(config: StackConfig, user: string): Record<string, string> {
  if (config.STACK_KAFKA_SECURITY === "plaintext") return {};
  const confDir = componentPaths(config, "kafka").confDir;
  if (!kafkaCredentials(confDir)[user]) throw new Error(`no Kafka user "${user}" in this stack`);
  return {
    KAFKA_SASL_MECHANISM: "scram-sha-512",
    KAFKA_SASL_USERNAME: user,
    KAFKA_SASL_PASSWORD_FILE: join(confDir, `${user}.password`),
    ...(config.STACK_KAFKA_SECURITY === "sasl_ssl"
      ? { KAFKA_SSL: "true", KAFKA_SSL_CA_FILE: kafkaTlsFiles(confDir).caPem }
      : {}),
  };
}

/** The ACLs a secured stack grants: those of every pipeline in STACK_KAFKA_ACL_PIPELINES. */
export function stackAcls(config: StackConfig): AclEntry[] {
  return config.STACK_KAFKA_ACL_PIPELINES.flatMap((pipeline) => pipelineAcls(getPipeline(pipeline).name));
}

/** Creates the pipelines' topics (services may not) and grants the ACLs, as the admin. */
async function provisionSecuredKafka(config: StackConfig): Promise<void> {
  // Failures surface as thrown errors; kafkajs logging each retried one would only be noise.
  const logger = createLogger({ name: "stack-kafka", level: "fatal" });
  const admin = createKafka(kafkaClientConfig(config, kafkaAdminUser), logger).admin();
  await admin.connect();
  try {
    const specs = config.STACK_KAFKA_ACL_PIPELINES.flatMap((pipeline) => pipelineTopicSpecs(getPipeline(pipeline)));
    // Right after start-up the broker may not know a just-created topic yet, which kafkajs reports
    // as a retriable error instead of waiting; the next attempt finds the topics and is a no-op.
    await waitUntil(
      "the pipelines' topics",
      () =>
        ensureTopics(admin, specs).then(
          () => true,
          (error: unknown) => {
            if ((error as { retriable?: boolean }).retriable) return undefined;
            throw error;
          },
        ),
      config.STACK_START_TIMEOUT_SECONDS * 1000,
      500,
    );
    const acls = stackAcls(config);
    await createAcls(admin, acls);
    // Clients started right after `stack:up` must find their ACLs in force.
    await waitUntil(
      "the ACLs to reach the broker",
      async () => ((await countAcls(admin, acls)) === acls.length ? true : undefined),
      config.STACK_START_TIMEOUT_SECONDS * 1000,
      200,
    );
  } finally {
    await admin.disconnect();
  }
}

/** Storage formatted for one security mode cannot serve the other: the SCRAM users live in it. */
function checkStorageSecurity(marker: string, wanted: string): void {
  const formatted = existsSync(marker) ? readFileSync(marker, "utf8").trim() : "plaintext";
  // sasl and sasl_ssl share the SCRAM users; only plaintext storage lacks them.
  if ((formatted === "plaintext") !== (wanted === "plaintext")) {
    throw new Error(
      `Kafka storage under ${marker} was formatted for STACK_KAFKA_SECURITY=${formatted}, not ${wanted}; use another STACK_DIR or delete that one`,
    );
  }
}

export function kafkaComponent(config: StackConfig): StackComponent {
  const paths = componentPaths(config, "kafka");
  const libs = () => join(config.STACK_DIR, `kafka-${config.STACK_KAFKA_VERSION}`, "libs");
  const log4j = join(projectRoot, "infra", "local", "templates", "log4j2.properties");
  const propertiesFile = join(paths.confDir, "server.properties");
  const logDirs = join(paths.dataDir, "kraft-logs");
  const java = "java";
  const classpath = () => `${libs()}/*`;

  const component = daemonComponent({
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
      const secured = config.STACK_KAFKA_SECURITY !== "plaintext";
      const credentials = secured ? kafkaCredentials(paths.confDir) : {};
      const adminPassword = credentials[kafkaAdminUser];
      const secrets = adminPassword
        ? {
            adminPassword,
            tls: config.STACK_KAFKA_SECURITY === "sasl_ssl" ? ensureKafkaTls(paths.confDir) : undefined,
          }
        : undefined;
      writeFileSync(propertiesFile, serverProperties(config, logDirs, secrets), { mode: 0o600 });
      chmodSync(propertiesFile, 0o600);
      const securityMarker = join(paths.dataDir, "security");
      if (existsSync(join(logDirs, "meta.properties"))) {
        checkStorageSecurity(securityMarker, config.STACK_KAFKA_SECURITY);
      } else {
        // SCRAM users are written into the metadata log at format time, so the broker can
        // authenticate its own connections before any admin request could create them.
        const scramUsers = Object.entries(credentials).flatMap(([name, password]) =>
          ["SCRAM-SHA-256", "SCRAM-SHA-512"].flatMap((mechanism) => [
            "--add-scram",
            `${mechanism}=[name=${name},password=${password}]`,
          ]),
        );
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
            ...scramUsers,
          ],
          "formatting Kafka storage",
          scramUsers.length > 0,
        );
        mkdirSync(paths.dataDir, { recursive: true });
        writeFileSync(securityMarker, `${config.STACK_KAFKA_SECURITY}\n`);
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
  if (config.STACK_KAFKA_SECURITY === "plaintext") return component;
  return {
    ...component,
    async start() {
      await component.start();
      await provisionSecuredKafka(config);
    },
  };
}
