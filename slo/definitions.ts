/**
 * SLO definitions: one YAML file per SLO under slo/definitions/, in the OpenSLO v1 `kind: SLO` shape
 * where OpenSLO can express it, with our own fields as `chatim-slo/*` annotations (OpenSLO's
 * extension point, so the files stay valid OpenSLO). `loadDefinitions` parses and validates every
 * file and reports every problem at once (file, field, what is wrong); zero SLOs is an error.
 * docs/slos.md documents the file format and each SLO (a test keeps them in step).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { METRICS, RUNTIME_METRICS, SCRAPE_JOBS } from '../system-under-test/kit/metrics.ts';
import { CLIENT_METRICS } from './client-metrics.ts';
import { type Duration, durationSeconds, type LabelMatcher, type SeriesRef } from './promql.ts';

/** The folder the SLO files live in, relative to the package root. */
export const DEFINITIONS_DIR = path.join('slo', 'definitions');

/**
 * The services' health-check routes (system-under-test/kit/app.ts): probes, not user traffic. Every
 * filter on HTTP traffic excludes them with EXCLUDE_HEALTH_ROUTES, the one spelling of that filter:
 * the verifier's cross-check uses it, and the validator holds the SLO files to it.
 */
export const HEALTH_ROUTES = ['/healthz', '/readyz'] as const;
export const EXCLUDE_HEALTH_ROUTES: LabelMatcher = ['route', '!~', HEALTH_ROUTES.join('|')];

/** Version of our `chatim-slo/*` extension of the OpenSLO shape; bump it on incompatible changes. */
export const DEFINITION_VERSION = '1';

export type MeasuredAt = 'server' | 'client';
export type Unit = 'ratio' | 'seconds' | 'count' | 'bytes_per_second' | 'per_second' | 'messages';
export type ThresholdOp = 'lt' | 'lte' | 'gt' | 'gte';

export type Aggregation =
  /** `histogram_quantile(q, …)` of a histogram over the window. */
  | { readonly type: 'histogram_quantile'; readonly quantile: number }
  /** Highest value of a gauge in the window (the worst series, or their sum with sumFirst). */
  | { readonly type: 'max_over_time'; readonly sumFirst: boolean }
  /** Least-squares growth per second of a gauge over the window (drift gates). */
  | { readonly type: 'slope'; readonly sumFirst: boolean }
  /** Events of a counter in the window. */
  | { readonly type: 'increase' };

export type Sli =
  | {
      readonly kind: 'ratio';
      readonly good?: SeriesRef | undefined;
      readonly bad?: SeriesRef | undefined;
      readonly total: SeriesRef;
    }
  | { readonly kind: 'threshold'; readonly source: SeriesRef; readonly aggregation: Aggregation };

export type Objective =
  /** Ratio SLIs: the good share must be at least `target`. */
  | { readonly kind: 'target'; readonly displayName: string; readonly target: number }
  /** Threshold SLIs: `measured op value`. */
  | {
      readonly kind: 'threshold';
      readonly displayName: string;
      readonly op: ThresholdOp;
      readonly value: number;
    };

export interface RelativeCriterion {
  /** Allowed worsening against the baseline median, as a fraction (0.1 = 10%). */
  readonly tolerance: number;
  /** The baseline is the median of the last `runs` passing runs of the same scenario and profile. */
  readonly runs: number;
}

export interface SloDefinition {
  /** Path of the file, relative to the package root (or as given). */
  readonly file: string;
  readonly name: string;
  readonly displayName: string;
  readonly description: string;
  readonly service: string;
  readonly measuredAt: MeasuredAt;
  readonly unit: Unit;
  readonly sli: Sli;
  readonly objective: Objective;
  /** OpenSLO's nominal window (for burn-rate alerts); a verification always uses the run window. */
  readonly timeWindow: Duration;
  /** At least this much is cut from the start / end of the run window (the run's own cut may be larger). */
  readonly warmUpSeconds: number;
  readonly coolDownSeconds: number;
  /** A trimmed window shorter than this cannot decide the SLO (inconclusive), e.g. drift gates. */
  readonly minWindowSeconds: number;
  /** Ratio SLIs: fewer total events than this in the window cannot decide the SLO. */
  readonly minEvents: number;
  readonly relative?: RelativeCriterion | undefined;
}

export interface Problem {
  readonly file: string;
  /** Dotted path of the offending field (`spec.objectives[0].target`), or `(file)`. */
  readonly field: string;
  readonly message: string;
}

export class SloValidationError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the SLO definitions:\n${problems
        .map((p) => `  ${p.file}: ${p.field}: ${p.message}`)
        .join('\n')}`,
    );
    this.name = 'SloValidationError';
  }
}

// ---------------------------------------------------------------------------------------------
// Metrics the definitions may name.
// ---------------------------------------------------------------------------------------------

interface KnownMetric {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly labelNames: readonly string[];
  /** Every value of the enum-like labels (the others are not checked). */
  readonly labelValues?: Readonly<Record<string, readonly string[]>> | undefined;
}

/** Labels Prometheus adds to every server series (the scrape job and target). */
const TARGET_LABELS = ['job', 'instance'];

function knownMetrics(measuredAt: MeasuredAt): ReadonlyMap<string, KnownMetric> {
  const map = new Map<string, KnownMetric>();
  if (measuredAt === 'client') {
    for (const [name, spec] of Object.entries(CLIENT_METRICS)) map.set(name, spec);
    return map;
  }
  for (const [name, spec] of Object.entries(METRICS)) {
    map.set(name, {
      type: spec.type,
      labelNames: [...spec.labelNames, ...TARGET_LABELS],
      labelValues: 'labelValues' in spec ? spec.labelValues : undefined,
    });
  }
  for (const name of Object.values(RUNTIME_METRICS)) {
    map.set(name, { type: 'gauge', labelNames: TARGET_LABELS });
  }
  return map;
}

// ---------------------------------------------------------------------------------------------
// Validation.
// ---------------------------------------------------------------------------------------------

const ANNOTATION = {
  version: 'chatim-slo/version',
  measuredAt: 'chatim-slo/measured-at',
  unit: 'chatim-slo/unit',
  warmUp: 'chatim-slo/warm-up',
  coolDown: 'chatim-slo/cool-down',
  minWindow: 'chatim-slo/min-window',
  minEvents: 'chatim-slo/min-events',
  baselineTolerance: 'chatim-slo/baseline-tolerance',
  baselineRuns: 'chatim-slo/baseline-runs',
} as const;
export const ANNOTATIONS: readonly string[] = Object.values(ANNOTATION);

const UNITS: readonly Unit[] = ['ratio', 'seconds', 'count', 'bytes_per_second', 'per_second', 'messages'];
const OPS: readonly ThresholdOp[] = ['lt', 'lte', 'gt', 'gte'];
const MATCH_OPS: readonly LabelMatcher[1][] = ['=', '!=', '=~', '!~'];
const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Checker {
  readonly problems: Problem[] = [];
  constructor(readonly file: string) {}

  problem(field: string, message: string): undefined {
    this.problems.push({ file: this.file, field, message });
    return undefined;
  }

  obj(parent: Obj, key: string, field: string): Obj | undefined {
    const v = parent[key];
    if (v === undefined) return this.problem(field, 'required');
    if (!isObj(v)) return this.problem(field, `must be a mapping, got ${JSON.stringify(v)}`);
    return v;
  }

  str(parent: Obj, key: string, field: string, optional = false): string | undefined {
    const v = parent[key];
    if (v === undefined) return optional ? undefined : this.problem(field, 'required');
    if (typeof v !== 'string' || v.trim() === '')
      return this.problem(field, `must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  }

  num(parent: Obj, key: string, field: string): number | undefined {
    const v = parent[key];
    if (v === undefined) return this.problem(field, 'required');
    if (typeof v !== 'number' || !Number.isFinite(v))
      return this.problem(field, `must be a finite number, got ${JSON.stringify(v)}`);
    return v;
  }

  duration(value: string | undefined, field: string): number | undefined {
    if (value === undefined) return undefined;
    if (!DURATION_RE.test(value))
      return this.problem(field, `must be a duration such as 30s, 5m or 1h, got ${JSON.stringify(value)}`);
    return durationSeconds(value as Duration);
  }

  /** `metricSource: {type: Prometheus, spec: {metric, matchers, aggregation?}}` */
  source(
    parent: Obj,
    key: string,
    field: string,
    measuredAt: MeasuredAt | undefined,
    want: readonly KnownMetric['type'][],
  ): { ref: SeriesRef; spec: Obj } | undefined {
    const holder = this.obj(parent, key, field);
    if (!holder) return undefined;
    const ms = this.obj(holder, 'metricSource', `${field}.metricSource`);
    if (!ms) return undefined;
    const type = ms.type;
    if (type !== 'Prometheus')
      this.problem(`${field}.metricSource.type`, `must be Prometheus, got ${JSON.stringify(type)}`);
    const spec = this.obj(ms, 'spec', `${field}.metricSource.spec`);
    if (!spec) return undefined;
    const f = `${field}.metricSource.spec`;
    if ('query' in spec)
      this.problem(
        `${f}.query`,
        'raw PromQL is not allowed: name the metric and matchers (slo/promql.ts builds the query)',
      );
    const metric = this.str(spec, 'metric', `${f}.metric`);
    const known = measuredAt ? knownMetrics(measuredAt) : undefined;
    const info = metric && known ? known.get(metric) : undefined;
    if (metric && known && !info) {
      this.problem(
        `${f}.metric`,
        measuredAt === 'client'
          ? `${metric} is not a client metric (slo/client-metrics.ts)`
          : `${metric} is not a server metric (system-under-test/kit/metrics.ts METRICS, or a runtime metric)`,
      );
    } else if (info && !want.includes(info.type)) {
      this.problem(`${f}.metric`, `${metric} is a ${info.type}; this SLI needs a ${want.join(' or ')}`);
    }
    const matchers: LabelMatcher[] = [];
    const raw = spec.matchers ?? [];
    if (!Array.isArray(raw)) {
      this.problem(`${f}.matchers`, 'must be a list of {label, op, value}');
    } else {
      raw.forEach((m, i) => {
        const mf = `${f}.matchers[${i}]`;
        if (!isObj(m)) {
          this.problem(mf, 'must be a mapping {label, op, value}');
          return;
        }
        const label = this.str(m, 'label', `${mf}.label`);
        const op = (m.op ?? '=') as LabelMatcher[1];
        const value = m.value;
        if (label && !LABEL_RE.test(label))
          this.problem(`${mf}.label`, `${JSON.stringify(label)} is not a label name`);
        else if (label && info && !info.labelNames.includes(label))
          this.problem(
            `${mf}.label`,
            `${metric} has no label ${label} (it has ${info.labelNames.join(', ')})`,
          );
        if (!MATCH_OPS.includes(op))
          this.problem(`${mf}.op`, `must be one of ${MATCH_OPS.join(' ')}, got ${JSON.stringify(op)}`);
        if (typeof value !== 'string')
          this.problem(`${mf}.value`, `must be a string, got ${JSON.stringify(value)}`);
        else if (op === '=~' || op === '!~') {
          try {
            new RegExp(`^(?:${value})$`);
          } catch (err) {
            this.problem(`${mf}.value`, `not a valid regular expression: ${(err as Error).message}`);
          }
        }
        const allowed = label ? info?.labelValues?.[label] : undefined;
        if (allowed && MATCH_OPS.includes(op) && typeof value === 'string') {
          const wrong = unknownLabelValue(op, value, allowed);
          if (wrong) this.problem(`${mf}.value`, `${metric}{${label}}: ${wrong}`);
        }
        if (label && MATCH_OPS.includes(op) && typeof value === 'string') matchers.push([label, op, value]);
      });
    }
    if (
      measuredAt === 'server' &&
      metric &&
      !matchers.some(([n, op]) => n === 'job' && (op === '=' || op === '=~'))
    ) {
      this.problem(
        `${f}.matchers`,
        'a server SLI must select its scrape job (a job= or job=~ matcher): the scrape-gap check needs it',
      );
    }
    // A route exclusion is the health-check filter, spelled exactly as EXCLUDE_HEALTH_ROUTES: a typo
    // ("/healhz") would silently count the probes as user traffic.
    const [, healthOp, healthValue] = EXCLUDE_HEALTH_ROUTES;
    matchers.forEach(([name, op, value], i) => {
      if (
        name === EXCLUDE_HEALTH_ROUTES[0] &&
        (op === '!~' || op === '!=') &&
        (op !== healthOp || value !== healthValue)
      )
        this.problem(
          `${f}.matchers[${i}]`,
          `a route exclusion must be the health-check filter {label: route, op: "${healthOp}", value: "${healthValue}"} (EXCLUDE_HEALTH_ROUTES in slo/definitions.ts), got ${op} ${JSON.stringify(value)}`,
        );
    });
    const knownJobs: readonly string[] = Object.values(SCRAPE_JOBS);
    for (const [name, op, value] of matchers) {
      if (measuredAt !== 'server' || name !== 'job' || (op !== '=' && op !== '=~')) continue;
      for (const job of op === '=' ? [value] : value.split('|')) {
        if (!knownJobs.includes(job)) {
          this.problem(`${f}.matchers`, `unknown scrape job "${job}" (known: ${knownJobs.join(', ')})`);
        }
      }
    }
    if (!metric) return undefined;
    return { ref: { metric, matchers }, spec };
  }
}

/** A regex that is only literal alternatives (`a|b`); `5..` or `fail.*` is a real regex. */
const SIMPLE_ALTERNATION_RE = /^[A-Za-z0-9_:/-]+(?:\|[A-Za-z0-9_:/-]+)*$/;

/**
 * Why a matcher on an enum-like label cannot be right, or undefined when it can: `=` / `!=` and each
 * alternative of a simple `=~` / `!~` alternation must be a value the metric has; a real regex must
 * match at least one of them. Otherwise the matcher selects (or excludes) nothing, for ever: a
 * `bad` filter that matches nothing makes a ratio SLI pass at 100%.
 */
export function unknownLabelValue(
  op: LabelMatcher[1],
  value: string,
  allowed: readonly string[],
): string | undefined {
  const known = `(its values: ${allowed.join(', ')})`;
  const effect = op === '=' || op === '=~' ? 'would select nothing' : 'would exclude nothing';
  if (op === '=' || op === '!=') {
    return allowed.includes(value)
      ? undefined
      : `no such value ${JSON.stringify(value)} ${known}: the matcher ${effect}`;
  }
  if (SIMPLE_ALTERNATION_RE.test(value)) {
    const unknown = value.split('|').filter((v) => !allowed.includes(v));
    return unknown.length === 0
      ? undefined
      : `no such value ${unknown.map((v) => JSON.stringify(v)).join(', ')} ${known}: that alternative ${effect}`;
  }
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${value})$`);
  } catch {
    return undefined; // reported as an invalid regular expression
  }
  return allowed.some((v) => re.test(v))
    ? undefined
    : `the regular expression ${JSON.stringify(value)} matches none of the values ${known}: the matcher ${effect}`;
}

/** Scrape jobs a server SLI reads (from its job matcher: `job="a"` or `job=~"a|b"`). */
export function jobsOf(sli: Sli): string[] {
  const refs = sli.kind === 'ratio' ? [sli.total, sli.good, sli.bad] : [sli.source];
  const jobs = new Set<string>();
  for (const r of refs) {
    for (const [name, op, value] of r?.matchers ?? []) {
      if (name !== 'job') continue;
      if (op === '=') jobs.add(value);
      if (op === '=~') for (const j of value.split('|')) jobs.add(j);
    }
  }
  return [...jobs].sort();
}

/** Validates one parsed document; returns the definition, or undefined with problems recorded. */
export function validateDefinition(
  doc: unknown,
  file: string,
): { definition?: SloDefinition; problems: Problem[] } {
  const c = new Checker(file);
  const done = (definition?: SloDefinition) => ({
    ...(definition ? { definition } : {}),
    problems: c.problems,
  });
  if (!isObj(doc)) {
    c.problem('(file)', 'must be a YAML mapping (an OpenSLO kind: SLO document)');
    return done();
  }
  if (doc.apiVersion !== 'openslo/v1')
    c.problem('apiVersion', `must be openslo/v1, got ${JSON.stringify(doc.apiVersion)}`);
  if (doc.kind !== 'SLO') c.problem('kind', `must be SLO, got ${JSON.stringify(doc.kind)}`);

  const metadata = c.obj(doc, 'metadata', 'metadata') ?? {};
  const name = c.str(metadata, 'name', 'metadata.name');
  if (name && !NAME_RE.test(name))
    c.problem('metadata.name', `${JSON.stringify(name)} must be a DNS label (a-z, 0-9, -)`);
  const base = path.basename(file).replace(/\.ya?ml$/, '');
  if (name && base !== name && !file.startsWith('<'))
    c.problem('metadata.name', `must match the file name (${base})`);
  const displayName = c.str(metadata, 'displayName', 'metadata.displayName');
  const annotations = c.obj(metadata, 'annotations', 'metadata.annotations') ?? {};
  for (const [k, v] of Object.entries(annotations)) {
    if (typeof v !== 'string')
      c.problem(
        `metadata.annotations.${k}`,
        `annotation values are strings (quote it), got ${JSON.stringify(v)}`,
      );
    if (k.startsWith('chatim-slo/') && !ANNOTATIONS.includes(k))
      c.problem(
        `metadata.annotations.${k}`,
        `unknown chatim-slo annotation (known: ${ANNOTATIONS.join(', ')})`,
      );
  }
  const ann = (key: string) =>
    typeof annotations[key] === 'string' ? (annotations[key] as string) : undefined;
  const annField = (key: string) => `metadata.annotations.${key}`;

  if (ann(ANNOTATION.version) !== DEFINITION_VERSION)
    c.problem(
      annField(ANNOTATION.version),
      `must be "${DEFINITION_VERSION}", got ${JSON.stringify(annotations[ANNOTATION.version])}`,
    );
  const measuredAtRaw = ann(ANNOTATION.measuredAt);
  const measuredAt =
    measuredAtRaw === 'server' || measuredAtRaw === 'client'
      ? measuredAtRaw
      : c.problem(
          annField(ANNOTATION.measuredAt),
          `must be server or client, got ${JSON.stringify(measuredAtRaw)}`,
        );
  const unitRaw = ann(ANNOTATION.unit);
  const unit = UNITS.includes(unitRaw as Unit)
    ? (unitRaw as Unit)
    : c.problem(
        annField(ANNOTATION.unit),
        `must be one of ${UNITS.join(', ')}, got ${JSON.stringify(unitRaw)}`,
      );
  const warmUpSeconds = c.duration(ann(ANNOTATION.warmUp), annField(ANNOTATION.warmUp)) ?? 0;
  const coolDownSeconds = c.duration(ann(ANNOTATION.coolDown), annField(ANNOTATION.coolDown)) ?? 0;
  const minWindowSeconds = c.duration(ann(ANNOTATION.minWindow), annField(ANNOTATION.minWindow)) ?? 0;
  let minEvents = 1;
  if (ann(ANNOTATION.minEvents) !== undefined) {
    const n = Number(ann(ANNOTATION.minEvents));
    if (Number.isInteger(n) && n >= 1) minEvents = n;
    else
      c.problem(
        annField(ANNOTATION.minEvents),
        `must be a whole number ≥ 1, got ${JSON.stringify(ann(ANNOTATION.minEvents))}`,
      );
  }
  let relative: RelativeCriterion | undefined;
  const tol = ann(ANNOTATION.baselineTolerance);
  const runs = ann(ANNOTATION.baselineRuns);
  if (tol !== undefined || runs !== undefined) {
    const m = tol === undefined ? null : /^(\d+(?:\.\d+)?)%$/.exec(tol);
    if (!m)
      c.problem(
        annField(ANNOTATION.baselineTolerance),
        `must be a percentage such as "10%", got ${JSON.stringify(tol)}`,
      );
    const n = runs === undefined ? 5 : Number(runs);
    if (!(Number.isInteger(n) && n >= 1))
      c.problem(annField(ANNOTATION.baselineRuns), `must be a whole number ≥ 1, got ${JSON.stringify(runs)}`);
    if (m && Number.isInteger(n) && n >= 1) relative = { tolerance: Number(m[1]) / 100, runs: n };
  }

  const spec = c.obj(doc, 'spec', 'spec') ?? {};
  const description = c.str(spec, 'description', 'spec.description');
  const service = c.str(spec, 'service', 'spec.service');
  if (spec.budgetingMethod !== undefined && spec.budgetingMethod !== 'Occurrences')
    c.problem(
      'spec.budgetingMethod',
      `only Occurrences is supported, got ${JSON.stringify(spec.budgetingMethod)}`,
    );

  // timeWindow: [{duration, isRolling}]
  let timeWindow: Duration | undefined;
  if (!Array.isArray(spec.timeWindow) || spec.timeWindow.length !== 1) {
    c.problem('spec.timeWindow', 'must be a list with exactly one {duration, isRolling}');
  } else if (!isObj(spec.timeWindow[0])) {
    c.problem('spec.timeWindow[0]', 'must be a mapping {duration, isRolling}');
  } else {
    const d = c.str(spec.timeWindow[0], 'duration', 'spec.timeWindow[0].duration');
    if (c.duration(d, 'spec.timeWindow[0].duration') !== undefined) timeWindow = d as Duration;
  }

  // indicator
  let sli: Sli | undefined;
  if (spec.indicatorRef !== undefined) {
    c.problem('spec.indicatorRef', 'not supported: inline the SLI as spec.indicator');
  } else {
    const indicator = c.obj(spec, 'indicator', 'spec.indicator');
    const ispec = indicator ? c.obj(indicator, 'spec', 'spec.indicator.spec') : undefined;
    if (ispec) {
      const hasRatio = 'ratioMetric' in ispec;
      const hasThreshold = 'thresholdMetric' in ispec;
      if (hasRatio === hasThreshold) {
        c.problem('spec.indicator.spec', 'must have exactly one of ratioMetric and thresholdMetric');
      } else if (hasRatio) {
        const f = 'spec.indicator.spec.ratioMetric';
        const rm = c.obj(ispec, 'ratioMetric', f);
        if (rm) {
          if (rm.counter !== true) c.problem(`${f}.counter`, 'must be true (ratios are of counters)');
          if ('good' in rm === 'bad' in rm) c.problem(f, 'must have exactly one of good and bad');
          const good = 'good' in rm ? c.source(rm, 'good', `${f}.good`, measuredAt, ['counter']) : undefined;
          const bad = 'bad' in rm ? c.source(rm, 'bad', `${f}.bad`, measuredAt, ['counter']) : undefined;
          const total = c.source(rm, 'total', `${f}.total`, measuredAt, ['counter']);
          const part = good ?? bad;
          if (total && part) {
            // The good/bad series must be a subset of the total (same metric, every total matcher
            // repeated), or the ratio can exceed 1 and pass on data that is not there.
            const partField = `${f}.${good ? 'good' : 'bad'}`;
            if (part.ref.metric !== total.ref.metric) {
              c.problem(
                partField,
                `must count the same metric as total (${total.ref.metric}), got ${part.ref.metric}`,
              );
            }
            const same = (a: LabelMatcher, b: LabelMatcher) =>
              a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
            for (const m of total.ref.matchers) {
              if (!part.ref.matchers.some((x) => same(x, m))) {
                c.problem(
                  `${partField}.metricSource.spec.matchers`,
                  `must repeat every matcher of total, missing ${m[0]}${m[1]}"${m[2]}" (the ratio must be a subset of its total)`,
                );
              }
            }
            sli = { kind: 'ratio', good: good?.ref, bad: bad?.ref, total: total.ref };
          }
        }
      } else {
        const f = 'spec.indicator.spec.thresholdMetric';
        const tm = c.obj(ispec, 'thresholdMetric', f);
        const agg =
          tm && isObj(tm.metricSource) && isObj(tm.metricSource.spec)
            ? tm.metricSource.spec.aggregation
            : undefined;
        const af = `${f}.metricSource.spec.aggregation`;
        let aggregation: Aggregation | undefined;
        let want: KnownMetric['type'][] = ['counter', 'gauge', 'histogram'];
        if (!isObj(agg)) {
          if (tm) c.problem(af, 'required: {type: histogram_quantile | max_over_time | slope | increase, …}');
        } else if (agg.type === 'histogram_quantile') {
          const q = c.num(agg, 'quantile', `${af}.quantile`);
          if (q !== undefined && !(q > 0 && q < 1))
            c.problem(`${af}.quantile`, `must be in (0, 1), got ${q}`);
          else if (q !== undefined) aggregation = { type: 'histogram_quantile', quantile: q };
          want = ['histogram'];
        } else if (agg.type === 'max_over_time' || agg.type === 'slope') {
          if (agg.sumFirst !== undefined && typeof agg.sumFirst !== 'boolean')
            c.problem(`${af}.sumFirst`, 'must be true or false');
          aggregation = { type: agg.type, sumFirst: agg.sumFirst === true };
          want = ['gauge'];
        } else if (agg.type === 'increase') {
          aggregation = { type: 'increase' };
          want = ['counter'];
        } else {
          c.problem(
            `${af}.type`,
            `must be histogram_quantile, max_over_time, slope or increase, got ${JSON.stringify(agg.type)}`,
          );
        }
        const source = tm
          ? c.source({ thresholdMetric: tm }, 'thresholdMetric', f, measuredAt, want)
          : undefined;
        if (source && aggregation) sli = { kind: 'threshold', source: source.ref, aggregation };
      }
    }
  }

  // objectives: exactly one
  let objective: Objective | undefined;
  if (!Array.isArray(spec.objectives) || spec.objectives.length !== 1) {
    c.problem('spec.objectives', 'must be a list with exactly one objective (one SLO per file)');
  } else if (!isObj(spec.objectives[0])) {
    c.problem('spec.objectives[0]', 'must be a mapping');
  } else {
    const o = spec.objectives[0];
    const f = 'spec.objectives[0]';
    const dn = c.str(o, 'displayName', `${f}.displayName`);
    if (sli?.kind === 'ratio' || (!sli && 'target' in o && !('op' in o))) {
      if ('op' in o || 'value' in o) c.problem(f, 'a ratio SLI takes a target, not op/value');
      const t = c.num(o, 'target', `${f}.target`);
      if (t !== undefined && !(t > 0 && t < 1)) c.problem(`${f}.target`, `must be in (0, 1), got ${t}`);
      else if (t !== undefined && dn) objective = { kind: 'target', displayName: dn, target: t };
    } else {
      const op = o.op;
      if (!OPS.includes(op as ThresholdOp))
        c.problem(`${f}.op`, `must be one of ${OPS.join(', ')}, got ${JSON.stringify(op)}`);
      const v = c.num(o, 'value', `${f}.value`);
      if (OPS.includes(op as ThresholdOp) && v !== undefined && dn)
        objective = { kind: 'threshold', displayName: dn, op: op as ThresholdOp, value: v };
    }
  }
  if (sli?.kind === 'threshold' && objective?.kind === 'target')
    c.problem('spec.objectives[0]', 'a threshold SLI takes op and value, not a target');

  if (
    c.problems.length > 0 ||
    !name ||
    !displayName ||
    !description ||
    !service ||
    !measuredAt ||
    !unit ||
    !sli ||
    !objective ||
    !timeWindow
  ) {
    return done();
  }
  return done({
    file,
    name,
    displayName,
    description,
    service,
    measuredAt,
    unit,
    sli,
    objective,
    timeWindow,
    warmUpSeconds,
    coolDownSeconds,
    minWindowSeconds,
    minEvents,
    relative,
  });
}

/** Parses and validates YAML text (one document). */
export function parseDefinition(
  text: string,
  file: string,
): { definition?: SloDefinition; problems: Problem[] } {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    return { problems: doc.errors.map((e) => ({ file, field: '(yaml)', message: e.message })) };
  }
  return validateDefinition(doc.toJS(), file);
}

/**
 * Reads every `*.yaml` in `dir`, validates all of them, and returns the definitions sorted by name
 * with every problem found (never stopping at the first). No files at all is itself a problem.
 */
export async function loadDefinitions(
  dir: string,
): Promise<{ definitions: SloDefinition[]; problems: Problem[] }> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch (err) {
    return {
      definitions: [],
      problems: [{ file: dir, field: '(dir)', message: `cannot read: ${(err as Error).message}` }],
    };
  }
  const definitions: SloDefinition[] = [];
  const problems: Problem[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    const r = parseDefinition(await readFile(file, 'utf8'), file);
    problems.push(...r.problems);
    if (r.definition) definitions.push(r.definition);
  }
  if (files.length === 0)
    problems.push({
      file: dir,
      field: '(dir)',
      message: 'no SLO definitions (*.yaml) found: zero SLOs is an error',
    });
  const seen = new Map<string, string>();
  for (const d of definitions) {
    const other = seen.get(d.name);
    if (other)
      problems.push({
        file: d.file,
        field: 'metadata.name',
        message: `${d.name} is also defined in ${other}`,
      });
    seen.set(d.name, d.file);
  }
  definitions.sort((a, b) => a.name.localeCompare(b.name));
  return { definitions, problems };
}

/** loadDefinitions, throwing one SloValidationError that lists every problem. */
export async function loadDefinitionsOrThrow(dir: string): Promise<SloDefinition[]> {
  const { definitions, problems } = await loadDefinitions(dir);
  if (problems.length > 0) throw new SloValidationError(problems);
  return definitions;
}
