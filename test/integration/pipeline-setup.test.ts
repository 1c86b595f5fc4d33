// Pipeline set-up on the real broker: topics made by hand with fewer partitions than the raw topic
// are refused with a clear error, not left to stall the pipeline.
import { afterAll, describe, expect, it } from "vitest";
import { createKafka } from "../../services/shared/kafka/client.ts";
import { createSchemaRegistry } from "../../services/shared/kafka/registry.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { definePipeline, pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { setUpPipeline } from "../../services/shared/pipeline/setup.ts";
import { payments } from "../../services/shared/pipelines/payments.ts";
import { createTestTopic, deleteTestTopic, testConnectionConfig, uniqueName } from "../helpers/integration.ts";

const config = testConnectionConfig();
const kafka = createKafka(config, createLogger({ name: "pipeline-setup-test", level: "warn" }), "pipeline-setup");
const name = uniqueName("setup").replaceAll("_", "-");
const topics = pipelineTopics(name);

afterAll(async () => {
  for (const topic of Object.values(topics)) await deleteTestTopic(kafka, topic).catch(() => undefined);
});

describe("pipeline set-up", () => {
  it("refuses a features topic with fewer partitions than raw, naming it", async () => {
    await createTestTopic(kafka, topics.raw, 3);
    await createTestTopic(kafka, topics.features, 1);
    const definition = definePipeline({ ...payments, name });
    await expect(setUpPipeline(kafka, createSchemaRegistry(config), definition)).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining(`${topics.features} has 1 partitions, fewer than the 3 of ${topics.raw}`),
    });
  });
});
