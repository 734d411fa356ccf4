/**
 * deploy/kubernetes/: every manifest validates against its schema (kubernetes-models,
 * @kubernetes-models/keda), and the KEDA trigger's valueLocation reads a number from a real
 * /api/status document served by the service.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Secret, Service as KubeService } from 'kubernetes-models/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { Service } from '../../../src/service/service.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { deleteKeys, sharedRedisConfig, uniqueName, TEST_DBS } from '../../helpers/redis.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

const DIR = path.resolve(import.meta.dirname, '../../../deploy/kubernetes');
// This file owns Redis database 5 (the seed's two queues are always configured; they stay idle).
const DB = TEST_DBS.kubernetes;

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: unknown };

function manifests(): { file: string; doc: Manifest }[] {
  return fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) =>
      parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8')).map((d) => ({
        file,
        doc: d.toJS() as Manifest,
      })),
    );
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': KubeService,
  'v1/Secret': Secret,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/** KEDA's valueLocation is a GJSON path; ours is a plain dotted key, read the same way here. */
function readLocation(doc: unknown, location: string): unknown {
  return location.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], doc);
}

describe('deploy/kubernetes', () => {
  const all = manifests();
  const byKind = (kind: string) => all.filter((m) => m.doc.kind === kind).map((m) => m.doc);

  it('has a Deployment, a Service, a PodDisruptionBudget, a ScaledObject and its TriggerAuthentication, a PrometheusRule, each valid', () => {
    expect(all.map((m) => m.doc.kind).sort()).toEqual(
      [
        'Deployment',
        'PodDisruptionBudget',
        'PrometheusRule',
        'ScaledObject',
        'Secret',
        'Service',
        'TriggerAuthentication',
      ].sort(),
    );
    for (const { file, doc } of all) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect(Model, `${file}: ${doc.apiVersion} ${doc.kind}`).toBeDefined();
      if (Model) expect(() => new Model(doc as never).validate(), file).not.toThrow();
    }
    // A broken manifest does fail: the check can fail.
    const broken = { ...byKind('Deployment')[0], spec: { replicas: 'three' } };
    expect(() => new Deployment(broken as never).validate()).toThrow();
    const brokenRule = { ...byKind('PrometheusRule')[0], spec: { groups: [{ name: 'x', rules: [{ alert: 'A' }] }] } };
    expect(() => new PrometheusRule(brokenRule as never).validate()).toThrow();
  });

  it('grants a longer termination grace than the service’s own shutdown bound, and scales the right target', () => {
    const deployment = byKind('Deployment')[0] as unknown as Deployment;
    const config = serviceConfig({});
    // main.ts exits by itself at shutdown.timeoutSeconds + 20.
    expect(deployment.spec?.template.spec?.terminationGracePeriodSeconds).toBeGreaterThan(
      config.shutdown.timeoutSeconds + 20,
    );
    const scaled = byKind('ScaledObject')[0] as unknown as ScaledObject;
    expect(scaled.spec.scaleTargetRef.name).toBe(deployment.metadata?.name);
    const trigger = scaled.spec.triggers[0];
    expect(trigger?.type).toBe('metrics-api');
    expect(trigger?.authenticationRef?.name).toBe(byKind('TriggerAuthentication')[0]?.metadata.name);
    // Units per pod: the trigger's target equals the pods' INSTANCE_MAX_WORKERS.
    const env = deployment.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'INSTANCE_MAX_WORKERS')?.value).toBe(trigger?.metadata.targetValue);
  });

  describe('against a real /api/status', () => {
    const queue = uniqueName('keda');
    let service: Service | undefined;
    const redis = new Redis({ ...sharedRedisConfig(), db: DB });
    afterAll(async () => {
      await service?.stop();
      await deleteKeys(redis, `*${queue}*`);
      redis.disconnect();
    });

    it('valueLocation reads the number of units the pool should run', async () => {
      const config = serviceConfig(
        {
          http: { enabled: true, port: 0 },
          queues: { [queue]: { flow: 'echo', resultList: `${queue}:resultado` } },
          scaler: { stabilizationSeconds: 60 },
        },
        // Its own prefix: every key it makes (the seed's queues' too) is deleted after.
        { REDIS_DB: String(DB), REDIS_PREFIX: queue },
      );
      service = new Service({ config, logger: memoryLogger('warn').logger });
      await service.start();
      await redis.rpush(
        `fila:${queue}`,
        ...Array.from({ length: 120 }, (_, i) => JSON.stringify({ id: `k-${i}`, sleepMs: 2000 })),
      );
      const scaled = byKind('ScaledObject')[0] as unknown as ScaledObject;
      const location = String(scaled.spec.triggers[0]?.metadata.valueLocation);
      const value = await waitFor(
        async () => {
          const status: unknown = await (await fetch(`${service?.httpUrl}/api/status`)).json();
          const v = readLocation(status, location);
          return typeof v === 'number' && v > 0 ? v : undefined;
        },
        { timeoutMs: 30_000, what: `${location} in /api/status` },
      );
      // ceil(120 / 50) = 3 units → with 5 per pod, KEDA asks for ceil(3 / 5) = 1 pod.
      expect(value).toBe(3);
      expect(Math.ceil(value / Number(scaled.spec.triggers[0]?.metadata.targetValue))).toBe(1);
    });
  });
});
