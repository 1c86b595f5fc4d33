// The four services by name, with the one default port and Kafka principal each: settings, the
// local stack, the ACLs and the demo all read them from here.
export const serviceNames = ["transformer", "inference", "monitor", "producer"] as const;

export type ServiceName = (typeof serviceNames)[number];

/** Where each service listens by default (HTTP on 127.0.0.1). */
export const defaultPorts: Record<ServiceName, number> = {
  producer: 8080,
  inference: 8081,
  transformer: 8082,
  monitor: 8083,
};

/** The SASL user each service connects to Kafka as on a secured stack. */
export const kafkaPrincipals: Record<ServiceName, string> = {
  producer: "ingest",
  inference: "inference",
  transformer: "transformer",
  monitor: "monitor",
};

/** The web console's port: not a Kafka service (no principal), it reads ClickHouse and Prometheus. */
export const consolePort = 8084;
