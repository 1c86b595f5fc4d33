// TLS material for a local broker with STACK_KAFKA_SECURITY=sasl_ssl: a CA of the stack's own and
// a broker certificate for 127.0.0.1 it signs, made once with the JDK's keytool and kept (mode 600).
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runQuiet } from "./processes.ts";

export interface KafkaTlsFiles {
  /** PEM of the stack's CA: what clients trust (KAFKA_SSL_CA_FILE). */
  caPem: string;
  /** PKCS12 with the broker's key and certificate chain. */
  keystore: string;
  /** PKCS12 with the CA, for the broker's connections to itself. */
  truststore: string;
  storePassword: string;
}

export function kafkaTlsFiles(confDir: string): KafkaTlsFiles {
  const passwordFile = join(confDir, "tls-store.password");
  return {
    caPem: join(confDir, "ca.pem"),
    keystore: join(confDir, "broker.p12"),
    truststore: join(confDir, "truststore.p12"),
    storePassword: existsSync(passwordFile) ? readFileSync(passwordFile, "utf8") : "",
  };
}

/** Makes the CA, the broker's certificate and the stores unless they exist. */
export function ensureKafkaTls(confDir: string): KafkaTlsFiles {
  const files = kafkaTlsFiles(confDir);
  if (existsSync(files.caPem) && existsSync(files.keystore) && existsSync(files.truststore)) return files;
  mkdirSync(confDir, { recursive: true });
  const passwordFile = join(confDir, "tls-store.password");
  writeFileSync(passwordFile, randomBytes(18).toString("base64url"), { mode: 0o600 });
  const caStore = join(confDir, "ca.p12");
  const request = join(confDir, "broker.csr");
  const signed = join(confDir, "broker.crt");
  for (const file of [caStore, files.keystore, files.truststore]) rmSync(file, { force: true });
  // Passwords go by file, so they never show in a process list.
  const store = (path: string) => ["-keystore", path, "-storetype", "PKCS12", "-storepass:file", passwordFile];
  const keytool = (what: string, args: string[]) => runQuiet("keytool", ["-noprompt", ...args], what);
  const key = ["-keyalg", "RSA", "-keysize", "2048", "-validity", "825"];
  keytool("making the stack's CA", [
    "-genkeypair",
    "-alias",
    "ca",
    ...key,
    "-dname",
    "CN=streamscore local CA",
    "-ext",
    "bc:c",
    ...store(caStore),
  ]);
  keytool("exporting the CA", ["-exportcert", "-rfc", "-alias", "ca", "-file", files.caPem, ...store(caStore)]);
  keytool("making the broker's key", [
    "-genkeypair",
    "-alias",
    "broker",
    ...key,
    "-dname",
    "CN=127.0.0.1",
    ...store(files.keystore),
  ]);
  keytool("requesting the broker's certificate", [
    "-certreq",
    "-alias",
    "broker",
    "-file",
    request,
    ...store(files.keystore),
  ]);
  keytool("signing the broker's certificate", [
    "-gencert",
    "-rfc",
    "-alias",
    "ca",
    "-infile",
    request,
    "-outfile",
    signed,
    "-validity",
    "825",
    "-ext",
    "SAN=ip:127.0.0.1,dns:localhost",
    ...store(caStore),
  ]);
  keytool("adding the CA to the broker's store", [
    "-importcert",
    "-alias",
    "ca",
    "-file",
    files.caPem,
    ...store(files.keystore),
  ]);
  keytool("adding the broker's certificate", [
    "-importcert",
    "-alias",
    "broker",
    "-file",
    signed,
    ...store(files.keystore),
  ]);
  keytool("making the truststore", ["-importcert", "-alias", "ca", "-file", files.caPem, ...store(files.truststore)]);
  rmSync(request, { force: true });
  for (const file of [caStore, files.keystore, files.truststore, signed]) chmodSync(file, 0o600);
  return kafkaTlsFiles(confDir);
}
