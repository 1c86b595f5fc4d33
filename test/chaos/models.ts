// Model changes for a chaos run: the model folder the run's services load, the registry set-up
// before sending, and the fixed cycle of changes the "model-change" faults apply one by one, with
// every (version, role) a decision may then legally name.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Kafka } from "../../services/shared/kafka/client.ts";
import { createModelLogWriter } from "../../services/shared/kafka/model-log.ts";
import type { Logger } from "../../services/shared/logger.ts";
import type { ChangeRequest, Deployment } from "../../services/shared/model/lifecycle.ts";
import { payments } from "../../services/shared/pipelines/payments.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { waitUntil } from "../../services/shared/wait.ts";
import type { ModelExpectation } from "./checker.ts";

/** The registry of a model-change run before sending: who decides, and the shadow that stays all run. */
export interface ModelPlan {
  champion: number;
  shadow: number;
}

export type ModelStep = Pick<ChangeRequest, "action" | "version" | "weight">;

/** Changes per candidate version: a canary, its weight changed, its promotion, and a rollback. */
const stepsPerCandidate = 4;

/**
 * The k-th candidate version (from 0): the versions after 1 that are neither the first champion nor
 * the shadow. Each candidate serves one round only, because a rollback retires the champion it
 * leaves and a retired version can never serve again.
 */
export function candidateVersion(plan: ModelPlan, k: number): number {
  let version = 0;
  for (let found = -1; found < k; ) {
    version += 1;
    if (version !== plan.champion && version !== plan.shadow) found += 1;
  }
  return version;
}

/**
 * The n-th change (from 0) of the cycle: canary at 30 %, the canary's weight to 50 %, promote it,
 * roll back to the champion before it; then the same with the next candidate. Every step is legal
 * after the one before, so a refusal in a run means the registry lost or reordered a change.
 */
export function modelStepAt(plan: ModelPlan, n: number): ModelStep {
  const version = candidateVersion(plan, Math.floor(n / stepsPerCandidate));
  switch (n % stepsPerCandidate) {
    case 0:
      return { action: "canary", version, weight: 30 };
    case 1:
      return { action: "canary", version, weight: 50 };
    case 2:
      return { action: "promote", version };
    default:
      return { action: "rollback" };
  }
}

/**
 * Versions a run of `changes` changes registers (the champion, the shadow and every candidate it
 * reaches), and the folders it needs: those plus one more that is never registered. That extra one
 * is the newest folder, which inference serves only when it finds no champion in the registry; a
 * decision by it shows a lost champion, which the checker then reports as an illegal version.
 */
export function modelVersions(plan: ModelPlan, changes: number): { registered: number[]; onDisk: number[] } {
  const candidates = Math.max(1, Math.ceil(changes / stepsPerCandidate));
  const registered = [
    ...new Set([
      plan.champion,
      plan.shadow,
      ...Array.from({ length: candidates }, (_, k) => candidateVersion(plan, k)),
    ]),
  ].sort((a, b) => a - b);
  const decoy = Math.max(...registered) + 1;
  return { registered, onDisk: [...registered, decoy] };
}

/** The (version, role) pairs a deployment decides with: its champion and its canary. */
export function decidingPairs(deployment: Pick<Deployment, "champion" | "canary">): ModelExpectation["deciding"] {
  return [
    ...(deployment.champion === undefined ? [] : [{ version: deployment.champion, role: "champion" as const }]),
    ...(deployment.canary ? [{ version: deployment.canary.version, role: "canary" as const }] : []),
  ];
}

/**
 * A model root holding the shipped payments model once per version, each manifest naming its
 * folder's version: the roles, not the scores, are under test.
 */
export function prepareModelRoot(root: string, versions: readonly number[]): void {
  const source = join(projectRoot, payments.model.directory, "1");
  for (const version of versions) {
    const target = join(root, payments.model.directory, String(version));
    mkdirSync(target, { recursive: true });
    cpSync(source, target, { recursive: true });
    const manifestFile = join(target, "manifest.json");
    writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(readFileSync(manifestFile, "utf8")), version }));
  }
}

function describeStep(step: ModelStep, deployment: Deployment): string {
  if (step.action === "rollback") return `rollback to ${deployment.champion}`;
  return `${step.action} ${step.version}${step.weight === undefined ? "" : ` at ${step.weight}%`}`;
}

/**
 * Applies the registry set-up and then the cycle's changes through the model log's writer, as an
 * operator would, and keeps every deciding (version, role) the registry held after each change.
 */
export function createModelChanger(kafka: Kafka, pipeline: string, plan: ModelPlan, logger: Logger) {
  const writer = createModelLogWriter(kafka, pipeline, logger);
  const actor = "chaos harness";
  const held = new Map<string, ModelExpectation["deciding"][number]>();
  const hold = (deployment: Deployment) => {
    for (const pair of decidingPairs(deployment)) held.set(`${pair.version} ${pair.role}`, pair);
  };
  let next = 0;
  return {
    /** Registers the versions, promotes the champion and sets the shadow (before any event is sent). */
    async setUp(registered: readonly number[]): Promise<void> {
      for (const version of registered) {
        await writer.change({ action: "register", version, actor, reason: `chaos run: version ${version}` });
      }
      await writer.change({ action: "promote", version: plan.champion, actor, reason: "chaos run: first champion" });
      const { deployment } = await writer.change({
        action: "shadow",
        version: plan.shadow,
        actor,
        reason: "chaos run: a shadow for the whole run",
      });
      hold(deployment);
    },
    /** Applies the next change of the cycle; returns what it did, for the fault record. */
    async change(): Promise<string> {
      const step = modelStepAt(plan, next);
      next += 1;
      const { deployment } = await writer.change({ ...step, actor, reason: `chaos run: change ${next}` });
      hold(deployment);
      return describeStep(step, deployment);
    },
    expectation(): ModelExpectation {
      return { deciding: [...held.values()], shadowVersion: plan.shadow };
    },
  };
}

export type ModelChanger = ReturnType<typeof createModelChanger>;

/**
 * Waits until every instance says it serves exactly the plan: the champion and the shadow. An
 * instance swaps sets between transactions, and none runs while nothing is sent, so its models API
 * is the only place to see the swap before the first event. The per-pipeline route, because
 * `/v1/models` lists a renamed pipeline (`name=payments`) under its setting, without its roles.
 */
export async function waitForServing(
  urls: readonly string[],
  pipeline: string,
  plan: ModelPlan,
  timeoutMs: number,
): Promise<void> {
  const want = JSON.stringify([
    { version: plan.champion, role: "champion" },
    { version: plan.shadow, role: "shadow" },
  ]);
  for (const url of urls) {
    let last = "no answer";
    await waitUntil(
      `${url} to serve champion ${plan.champion} and shadow ${plan.shadow}`,
      async () => {
        const route = `${url}/v1/pipelines/${encodeURIComponent(pipeline)}/models`;
        const answer = await fetch(route, { signal: AbortSignal.timeout(2000) })
          .then((r) => r.json() as Promise<{ inUse?: unknown; problem?: unknown }>)
          .catch(() => undefined);
        last = JSON.stringify({ inUse: answer?.inUse, problem: answer?.problem });
        return JSON.stringify(answer?.inUse) === want ? true : undefined;
      },
      timeoutMs,
      250,
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; last answer ${last}`);
    });
  }
}
