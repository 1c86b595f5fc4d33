// Ports for servers a test (or the container set-up) starts itself.
export { freePort } from "../../infra/local/processes.ts";
