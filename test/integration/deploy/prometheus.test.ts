/**
 * deploy/prometheus and deploy/grafana against the service's real /metrics: the alert rules pass
 * `promtool check rules` and their unit tests (`promtool test rules`, series that fire and series
 * that do not), cover every alert kind, and read only metrics /metrics has; the PrometheusRule
 * manifest carries the same groups; every Grafana panel's query parses and names real metrics.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_KINDS } from '../../../src/config/alert-rules.js';
import { HttpServer } from '../../../src/http/server.js';
import { ServiceEvents } from '../../../src/shared/events.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { FakeStatusSource, queueStatus } from '../../helpers/fake-status.js';
import { EventPoolHistory } from '../../helpers/pool-history.js';
import { httpTestConfig } from '../http/fixture.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const RULES = path.join(ROOT, 'deploy/prometheus/rules.yml');
const RULE_TESTS = path.join(ROOT, 'deploy/prometheus/rules.test.yml');
const OPERATOR_RULE = path.join(ROOT, 'deploy/kubernetes/prometheus-rule.yaml');
const GRAFANA = path.join(ROOT, 'deploy/grafana/rpa-pool.json');
/** Series Prometheus makes itself, not the service. */
const PROMETHEUS_OWN = new Set(['up']);

type RuleFile = {
  groups: { name: string; rules: { alert: string; expr: string; labels: Record<string, string> }[] }[];
};
type Panel = { type: string; title: string; targets?: { expr: string }[]; panels?: Panel[] };

function promtool(...args: string[]): { code: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Metric names a PromQL expression reads (ours and Prometheus's own). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(rpa_[a-z0-9_]+|nodejs_[a-z0-9_]+|process_[a-z0-9_]+|up)\b(?=\s*[{[)\s]|$)/g)].map(
    (m) => m[1] ?? '',
  );
}

describe('Prometheus rules and the Grafana dashboard', () => {
  let server: HttpServer;
  /** Names /metrics declares (`# TYPE`), histograms with their series suffixes. */
  const exposed = new Set<string>();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-rules-'));

  beforeAll(async () => {
    const events = new ServiceEvents();
    server = new HttpServer({
      config: httpTestConfig({ host: '127.0.0.1', auth: { user: '', password: '' } }),
      logger: captureLogger().logger,
      status: new FakeStatusSource([queueStatus('conferencia')]),
      events,
      history: new EventPoolHistory(events, ['conferencia']),
      queues: [],
      artifactsDir: tmp,
    });
    const { url } = await server.start();
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name = '', type] = m;
      exposed.add(name);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exposed.add(`${name}${s}`);
    }
    expect(exposed.has('rpa_queue_pending_jobs')).toBe(true);
  });

  afterAll(async () => {
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('passes promtool check rules and promtool test rules; a broken threshold fails its unit test', () => {
    const check = promtool('check', 'rules', RULES);
    expect(check.output).toContain('SUCCESS');
    expect(check.code).toBe(0);
    const test = promtool('test', 'rules', RULE_TESTS);
    expect(test.output).toContain('SUCCESS');
    expect(test.code).toBe(0);
    // The unit tests can fail: the backlog rule with another threshold no longer fires as expected.
    const copy = path.join(tmp, 'rules.yml');
    fs.writeFileSync(
      copy,
      fs.readFileSync(RULES, 'utf8').replace('rpa_queue_pending_jobs) > 1000', 'rpa_queue_pending_jobs) > 2000'),
    );
    fs.copyFileSync(RULE_TESTS, path.join(tmp, 'rules.test.yml'));
    const broken = promtool('test', 'rules', path.join(tmp, 'rules.test.yml'));
    expect(broken.code).not.toBe(0);
    expect(broken.output).toContain('alertname: RpaBacklogAlto');
  });

  it('has a rule for every alert kind, the pool’s fences and lost heartbeats, each unit-tested, on metrics /metrics has', () => {
    const rules = (parse(fs.readFileSync(RULES, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules);
    const kinds = new Set(rules.map((r) => r.labels.kind));
    for (const kind of ALERT_KINDS.filter((k) => k !== 'workersAbove')) expect(kinds, kind).toContain(kind);
    expect(kinds).toContain('instanceFenced');
    expect(kinds).toContain('heartbeatLost');
    const tested = new Set(
      (
        parse(fs.readFileSync(RULE_TESTS, 'utf8')) as { tests: { alert_rule_test: { alertname: string }[] }[] }
      ).tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname)),
    );
    for (const rule of rules) {
      expect(tested, `${rule.alert} has no unit test`).toContain(rule.alert);
      for (const name of metricNames(rule.expr)) {
        if (!PROMETHEUS_OWN.has(name)) expect(exposed, `${rule.alert}: ${name}`).toContain(name);
      }
    }
  });

  it('ships the same groups as a PrometheusRule for the prometheus-operator', () => {
    const manifest = parse(fs.readFileSync(OPERATOR_RULE, 'utf8')) as { kind: string; spec: RuleFile };
    expect(manifest.kind).toBe('PrometheusRule');
    expect(manifest.spec.groups).toEqual((parse(fs.readFileSync(RULES, 'utf8')) as RuleFile).groups);
  });

  it('draws every Grafana panel from metrics /metrics has, each query valid PromQL, covering what operators watch', () => {
    const dashboard = JSON.parse(fs.readFileSync(GRAFANA, 'utf8')) as { panels: Panel[]; uid: string };
    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(10);
    const exprs: { title: string; expr: string }[] = [];
    for (const panel of panels) {
      expect(panel.targets?.length, `${panel.title} has no query`).toBeGreaterThan(0);
      for (const t of panel.targets ?? []) exprs.push({ title: panel.title, expr: t.expr });
    }
    const used = new Set<string>();
    for (const { title, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, `${title}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        expect(exposed, `${title}: ${name}`).toContain(name);
        used.add(name);
      }
    }
    // Per queue and per instance: backlog, workers against desired, throughput, failures, job-time
    // quantiles, capacity, browser memory, instances and fenced instances.
    for (const name of [
      'rpa_queue_pending_jobs',
      'rpa_workers',
      'rpa_workers_desired',
      'rpa_job_duration_seconds_count',
      'rpa_job_duration_seconds_bucket',
      'rpa_capacity_units',
      'rpa_instance_capacity',
      'rpa_browser_memory_bytes',
      'rpa_pool_instances',
      'rpa_instance_workers',
      'rpa_instance_fenced',
    ]) {
      expect(used, name).toContain(name);
    }
    // Every query parses: promtool checks them as recording rules (Grafana's variables filled in).
    const asRules = {
      groups: [
        {
          name: 'grafana',
          rules: exprs.map((e, i) => ({
            record: `grafana:panel_${i}`,
            expr: e.expr.replaceAll('$__rate_interval', '5m').replaceAll('$queue', '.*').replaceAll('$instance', '.*'),
          })),
        },
      ],
    };
    const file = path.join(tmp, 'grafana-rules.yml');
    fs.writeFileSync(file, stringify(asRules));
    const check = promtool('check', 'rules', file);
    expect(check.output).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});
