import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../harness/util/paths.ts';
import {
  ANNOTATIONS,
  DEFINITIONS_DIR,
  EXCLUDE_HEALTH_ROUTES,
  HEALTH_ROUTES,
  loadDefinitions,
  loadDefinitionsOrThrow,
  parseDefinition,
  SloValidationError,
  validateDefinition,
} from './definitions.ts';

const DIR = path.join(PACKAGE_ROOT, DEFINITIONS_DIR);
const CATALOGUE = [
  'api-availability',
  'backlog-growth-slope',
  'delivery-latency-p95',
  'delivery-latency-p99',
  'event-loop-lag-p99',
  'heap-growth-slope',
  'lost-messages',
  'open-handles-growth-slope',
  'persist-backlog-max',
  'rss-growth-slope',
  'send-failure-ratio',
  'send-latency-p95',
  'send-latency-p99',
  'ws-connect-success',
];

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'chatim-slo-defs-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: YAML documents mutated field by field in the table below
type Doc = any;
const good = async (name = 'send-latency-p95'): Promise<Doc> =>
  parse(await readFile(path.join(DIR, `${name}.yaml`), 'utf8'));
const FILE = '<test>';

describe('committed SLO definitions', () => {
  it('load without a problem, one per catalogue entry', async () => {
    const { definitions, problems } = await loadDefinitions(DIR);
    expect(problems).toEqual([]);
    expect(definitions.map((d) => d.name)).toEqual(CATALOGUE);
  });

  it('say where each is measured: client SLOs read only placeholder client metrics', async () => {
    const defs = await loadDefinitionsOrThrow(DIR);
    const client = defs.filter((d) => d.measuredAt === 'client').map((d) => d.name);
    expect(client).toEqual([
      'delivery-latency-p95',
      'delivery-latency-p99',
      'lost-messages',
      'ws-connect-success',
    ]);
  });

  it('are each documented in docs/slos.md with their objective, and the docs name no other SLO', async () => {
    const doc = await readFile(path.join(PACKAGE_ROOT, 'docs', 'slos.md'), 'utf8');
    const documented = [...doc.matchAll(/^### `([a-z0-9-]+)`/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(CATALOGUE);
    for (const d of await loadDefinitionsOrThrow(DIR)) {
      const section = doc.split(`### \`${d.name}\``)[1]!.split('\n### ')[0]!;
      expect(section, d.name).toContain(d.objective.displayName);
      expect(section, d.name).toContain(`**Measured at:** ${d.measuredAt}`);
    }
    for (const a of ANNOTATIONS) expect(doc, a).toContain(`\`${a}\``);
  });
});

describe('validation', () => {
  // Sloth-style: one good document, one mutation per row, the exact problem expected.
  const cases: [string, (d: Doc) => void, { field: string; message: RegExp }][] = [
    [
      'wrong apiVersion',
      (d) => (d.apiVersion = 'openslo/v2'),
      { field: 'apiVersion', message: /openslo\/v1/ },
    ],
    ['no name', (d) => delete d.metadata.name, { field: 'metadata.name', message: /required/ }],
    [
      'unknown metric',
      (d) => (d.spec.indicator.spec.thresholdMetric.metricSource.spec.metric = 'chatim_nope_seconds'),
      {
        field: 'spec.indicator.spec.thresholdMetric.metricSource.spec.metric',
        message: /not a server metric/,
      },
    ],
    [
      'quantile of a counter',
      (d) => (d.spec.indicator.spec.thresholdMetric.metricSource.spec.metric = 'chatim_messages_sent_total'),
      {
        field: 'spec.indicator.spec.thresholdMetric.metricSource.spec.metric',
        message: /is a counter; this SLI needs a histogram/,
      },
    ],
    [
      'label the metric does not have',
      (d) =>
        d.spec.indicator.spec.thresholdMetric.metricSource.spec.matchers.push({ label: 'route', value: 'x' }),
      {
        field: 'spec.indicator.spec.thresholdMetric.metricSource.spec.matchers[1].label',
        message: /has no label route/,
      },
    ],
    [
      'a label value the metric never has',
      (d) =>
        d.spec.indicator.spec.thresholdMetric.metricSource.spec.matchers.push({
          label: 'type',
          value: 'privat',
        }),
      {
        field: 'spec.indicator.spec.thresholdMetric.metricSource.spec.matchers[1].value',
        message:
          /^chatim_message_send_duration_seconds\{type\}: no such value "privat" \(its values: private, group\): the matcher would select nothing$/,
      },
    ],
    [
      'server SLI without a job matcher',
      (d) => (d.spec.indicator.spec.thresholdMetric.metricSource.spec.matchers = []),
      { field: 'spec.indicator.spec.thresholdMetric.metricSource.spec.matchers', message: /job= or job=~/ },
    ],
    [
      'a good selection that is not a subset of its total',
      (d) => {
        const ratio = {
          counter: true,
          good: {
            metricSource: {
              type: 'Prometheus',
              spec: {
                metric: 'chatim_http_requests_total',
                matchers: [{ label: 'job', op: '=', value: 'chatim-gateway' }],
              },
            },
          },
          total: {
            metricSource: {
              type: 'Prometheus',
              spec: {
                metric: 'chatim_http_requests_total',
                matchers: [
                  { label: 'job', op: '=', value: 'chatim-gateway' },
                  { label: 'status', op: '!~', value: '5..' },
                ],
              },
            },
          },
        };
        d.spec.indicator.spec = { ratioMetric: ratio };
        d.metadata.annotations['chatim-slo/unit'] = 'ratio';
        d.spec.objectives = [{ displayName: 'x', target: 0.99 }];
      },
      {
        field: 'spec.indicator.spec.ratioMetric.good.metricSource.spec.matchers',
        message: /must repeat every matcher of total, missing status!~"5\.\."/,
      },
    ],
    [
      'a scrape job that does not exist',
      (d) =>
        (d.spec.indicator.spec.thresholdMetric.metricSource.spec.matchers = [
          { label: 'job', value: 'chatim-gatway' },
        ]),
      {
        field: 'spec.indicator.spec.thresholdMetric.metricSource.spec.matchers',
        message: /unknown scrape job "chatim-gatway"/,
      },
    ],
    [
      'raw PromQL',
      (d) => (d.spec.indicator.spec.thresholdMetric.metricSource.spec.query = 'up'),
      {
        field: 'spec.indicator.spec.thresholdMetric.metricSource.spec.query',
        message: /raw PromQL is not allowed/,
      },
    ],
    [
      'quantile out of range',
      (d) => (d.spec.indicator.spec.thresholdMetric.metricSource.spec.aggregation.quantile = 95),
      {
        field: 'spec.indicator.spec.thresholdMetric.metricSource.spec.aggregation.quantile',
        message: /\(0, 1\)/,
      },
    ],
    [
      'bad op',
      (d) => (d.spec.objectives[0].op = 'le'),
      { field: 'spec.objectives[0].op', message: /lt, lte, gt, gte/ },
    ],
    [
      'two objectives',
      (d) => d.spec.objectives.push(d.spec.objectives[0]),
      { field: 'spec.objectives', message: /exactly one/ },
    ],
    [
      'measured nowhere',
      (d) => (d.metadata.annotations['chatim-slo/measured-at'] = 'browser'),
      { field: 'metadata.annotations.chatim-slo/measured-at', message: /server or client/ },
    ],
    [
      'typo in an annotation',
      (d) => (d.metadata.annotations['chatim-slo/warmup'] = '1m'),
      { field: 'metadata.annotations.chatim-slo/warmup', message: /unknown chatim-slo annotation/ },
    ],
    [
      'bad tolerance',
      (d) => (d.metadata.annotations['chatim-slo/baseline-tolerance'] = '0.1'),
      { field: 'metadata.annotations.chatim-slo/baseline-tolerance', message: /percentage/ },
    ],
    [
      'bad warm-up',
      (d) => (d.metadata.annotations['chatim-slo/warm-up'] = 'five minutes'),
      { field: 'metadata.annotations.chatim-slo/warm-up', message: /duration/ },
    ],
    [
      'indicatorRef',
      (d) => (d.spec.indicatorRef = 'x'),
      { field: 'spec.indicatorRef', message: /not supported/ },
    ],
  ];

  it.each(cases)('rejects %s', async (_name, mutate, want) => {
    const d = await good();
    expect(validateDefinition(structuredClone(d), FILE).problems).toEqual([]);
    mutate(d);
    const { definition, problems } = validateDefinition(d, FILE);
    expect(definition).toBeUndefined();
    expect(problems).toContainEqual({
      file: FILE,
      field: want.field,
      message: expect.stringMatching(want.message),
    });
  });

  it('rejects a client SLO that names a server metric, and a ratio with both good and bad', async () => {
    const d = await good('ws-connect-success');
    d.spec.indicator.spec.ratioMetric.total.metricSource.spec.metric = 'chatim_http_requests_total';
    d.spec.indicator.spec.ratioMetric.bad = d.spec.indicator.spec.ratioMetric.good;
    const fields = validateDefinition(d, FILE).problems.map((p) => p.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'spec.indicator.spec.ratioMetric',
        'spec.indicator.spec.ratioMetric.total.metricSource.spec.metric',
      ]),
    );
  });

  it('rejects a bad filter that matches nothing (the ratio would pass at 100% for ever), every such matcher at once', async () => {
    const d = await good('send-failure-ratio');
    const bad = d.spec.indicator.spec.ratioMetric.bad.metricSource.spec;
    expect(bad.matchers[1]).toEqual({ label: 'status', op: '=', value: 'failed' });
    const f = 'spec.indicator.spec.ratioMetric.bad.metricSource.spec.matchers';
    bad.matchers[1].value = 'fail';
    bad.matchers.push({ label: 'type', op: '=~', value: 'private|grop' });
    bad.matchers.push({ label: 'status', op: '=~', value: 'err.*' });
    bad.matchers.push({ label: 'status', op: '!=', value: 'succes' });
    const { definition, problems } = validateDefinition(d, FILE);
    expect(definition).toBeUndefined();
    expect(problems).toEqual([
      {
        file: FILE,
        field: `${f}[1].value`,
        message:
          'chatim_messages_sent_total{status}: no such value "fail" (its values: success, failed): the matcher would select nothing',
      },
      {
        file: FILE,
        field: `${f}[2].value`,
        message:
          'chatim_messages_sent_total{type}: no such value "grop" (its values: private, group): that alternative would select nothing',
      },
      {
        file: FILE,
        field: `${f}[3].value`,
        message:
          'chatim_messages_sent_total{status}: the regular expression "err.*" matches none of the values (its values: success, failed): the matcher would select nothing',
      },
      {
        file: FILE,
        field: `${f}[4].value`,
        message:
          'chatim_messages_sent_total{status}: no such value "succes" (its values: success, failed): the matcher would exclude nothing',
      },
    ]);
  });

  it('accepts known values, alternations of them, regexes that match one, and leaves unlisted labels alone', async () => {
    const d = await good('send-failure-ratio');
    const bad = d.spec.indicator.spec.ratioMetric.bad.metricSource.spec;
    bad.matchers.push({ label: 'type', op: '=~', value: 'private|group' });
    bad.matchers.push({ label: 'status', op: '=~', value: 'fail.*' });
    bad.matchers.push({ label: 'status', op: '!=', value: 'success' });
    expect(validateDefinition(d, FILE).problems).toEqual([]);
    // chatim_http_requests_total lists no status values (HTTP codes): `5..` is not checked against any.
    const a = await good('api-availability');
    a.spec.indicator.spec.ratioMetric.good.metricSource.spec.matchers.push({
      label: 'status',
      op: '!~',
      value: '4..',
    });
    expect(validateDefinition(a, FILE).problems).toEqual([]);
    // Client metrics are checked the same way.
    const w = await good('ws-connect-success');
    w.spec.indicator.spec.ratioMetric.good.metricSource.spec.matchers[0].value = 'ok';
    expect(validateDefinition(w, FILE).problems.map((p) => p.message)).toEqual([
      'chatim_client_ws_connects_total{status}: no such value "ok" (its values: success, failed): the matcher would select nothing',
    ]);
  });

  it('holds route exclusions to the one health-check filter (a typo would count probes as traffic)', async () => {
    const committed = (await loadDefinitionsOrThrow(DIR)).find((d) => d.name === 'api-availability')!;
    if (committed.sli.kind !== 'ratio') throw new Error('api-availability is a ratio');
    expect(committed.sli.total.matchers).toContainEqual(EXCLUDE_HEALTH_ROUTES);
    expect(committed.sli.good!.matchers).toContainEqual(EXCLUDE_HEALTH_ROUTES);

    const d = await good('api-availability');
    const f = 'spec.indicator.spec.ratioMetric';
    d.spec.indicator.spec.ratioMetric.total.metricSource.spec.matchers[1].value = '/healhz|/readyz';
    d.spec.indicator.spec.ratioMetric.good.metricSource.spec.matchers[1].op = '!=';
    const { definition, problems } = validateDefinition(d, FILE);
    expect(definition).toBeUndefined();
    expect(problems).toEqual([
      {
        file: FILE,
        field: `${f}.good.metricSource.spec.matchers[1]`,
        message:
          'a route exclusion must be the health-check filter {label: route, op: "!~", value: "/healthz|/readyz"} (EXCLUDE_HEALTH_ROUTES in slo/definitions.ts), got != "/healthz|/readyz"',
      },
      {
        file: FILE,
        field: `${f}.total.metricSource.spec.matchers[1]`,
        message:
          'a route exclusion must be the health-check filter {label: route, op: "!~", value: "/healthz|/readyz"} (EXCLUDE_HEALTH_ROUTES in slo/definitions.ts), got !~ "/healhz|/readyz"',
      },
      {
        // …and the good series is then no longer a subset of the total.
        file: FILE,
        field: `${f}.good.metricSource.spec.matchers`,
        message:
          'must repeat every matcher of total, missing route!~"/healhz|/readyz" (the ratio must be a subset of its total)',
      },
    ]);
  });

  it('names health routes the services really serve', async () => {
    const app = await readFile(path.join(PACKAGE_ROOT, 'system-under-test', 'kit', 'app.ts'), 'utf8');
    for (const route of HEALTH_ROUTES) expect(app, route).toContain(`app.get('${route}'`);
    expect(EXCLUDE_HEALTH_ROUTES).toEqual(['route', '!~', '/healthz|/readyz']);
  });

  it('lists every problem of every file at once (file, field, message), not just the first', async () => {
    const dir = path.join(scratch, 'many');
    await rm(dir, { recursive: true, force: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    const a = await good();
    a.apiVersion = 'v0';
    a.spec.objectives[0].value = 'fast';
    await writeFile(path.join(dir, 'send-latency-p95.yaml'), JSON.stringify(a));
    const b = await good('api-availability');
    b.spec.objectives[0].target = 1.5;
    await writeFile(path.join(dir, 'api-availability.yaml'), JSON.stringify(b));
    await writeFile(path.join(dir, 'broken.yaml'), 'apiVersion: [unclosed\n');
    const err = await loadDefinitionsOrThrow(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SloValidationError);
    const problems = (err as SloValidationError).problems.map((p) => `${path.basename(p.file)} ${p.field}`);
    expect(problems).toEqual([
      'api-availability.yaml spec.objectives[0].target',
      'broken.yaml (yaml)',
      'send-latency-p95.yaml apiVersion',
      'send-latency-p95.yaml spec.objectives[0].value',
    ]);
    expect((err as Error).message).toMatch(
      /^4 problems in the SLO definitions:\n {2}.*api-availability\.yaml: spec\.objectives\[0\]\.target: must be in \(0, 1\), got 1\.5/,
    );
  });

  it('rejects zero SLOs, and the same name twice', async () => {
    const empty = path.join(scratch, 'empty');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(empty, { recursive: true });
    expect((await loadDefinitions(empty)).problems).toEqual([
      { file: empty, field: '(dir)', message: 'no SLO definitions (*.yaml) found: zero SLOs is an error' },
    ]);
    await expect(loadDefinitionsOrThrow(empty)).rejects.toThrow(/zero SLOs is an error/);

    const twice = path.join(scratch, 'twice');
    await mkdir(twice, { recursive: true });
    const text = await readFile(path.join(DIR, 'send-latency-p95.yaml'), 'utf8');
    await writeFile(path.join(twice, 'send-latency-p95.yaml'), text);
    await writeFile(path.join(twice, 'send-latency-p95.yml'), text);
    expect((await loadDefinitions(twice)).problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^send-latency-p95 is also defined in/),
    ]);
  });

  it('accepts the committed files exactly (negative control for the table above)', async () => {
    const text = await readFile(path.join(DIR, 'send-latency-p95.yaml'), 'utf8');
    expect(parseDefinition(text, path.join(DIR, 'send-latency-p95.yaml')).problems).toEqual([]);
  });
});
