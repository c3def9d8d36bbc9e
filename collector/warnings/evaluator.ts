/**
 * Evaluates the warning rules over the store and issues warnings (docs/warnings.md). Issuing is idempotent: each
 * candidate carries a dedupe key (rule + group + window) that a unique index enforces, so several collector
 * instances evaluating at once issue each warning once, and only the instance whose insert won publishes it.
 *
 * Real statistics exclude drills: rules over alerts run once over real alerts and, when the rule allows drills,
 * once over drill alerts only, issuing warnings marked `drill` (never mixed with real ones).
 */
import type {
  AlertSummaryRow,
  CollectorStore,
  Enterprise,
  EvidenceRef,
  NewWarning,
  Scope,
  WarningAudience,
  WarningFact,
  WarningRecord,
} from '../store/types.ts';
import type {
  FirmwareSpreadCondition,
  GradeAlertCondition,
  ScoreRiseCondition,
  SensorSilenceCondition,
  SpreadCondition,
  WarningRule,
} from './types.ts';

export interface WarningEvent {
  type: 'warning.issued' | 'warning.acknowledged' | 'warning.closed';
  at: string;
  warning: WarningRecord;
}

export type WarningEventSink = (event: WarningEvent) => void;

export interface EvaluatorOptions {
  /** Who issues (recorded in `issuedBy`): `evaluator@<instance>`. */
  instance?: string;
  /** Called for every warning this evaluator created (not for ones another instance created first). */
  onEvent?: WarningEventSink;
  /** Facts kept per warning at most (default 50). */
  maxFacts?: number;
}

export interface EvaluationResult {
  /** Warnings created by this run. */
  issued: WarningRecord[];
  /** Candidates that already existed (same dedupe key). */
  existing: number;
  /** Rules that failed (message per rule id); the others still ran. */
  errors: Record<string, string>;
}

export interface EvaluatorStats {
  runs: number;
  issued: number;
  existing: number;
  ruleErrors: number;
  lastRunMs: number | null;
}

interface Candidate {
  group: string;
  windowKey: string;
  province: string;
  audience: WarningAudience;
  targets: string[];
  facts: WarningFact[];
}

const ALL: Scope = { kind: 'all' };

function alertFact(r: AlertSummaryRow): WarningFact {
  return {
    kind: 'alert',
    enterpriseId: r.enterpriseId,
    text: `${r.enterpriseId}: ${r.ruleId} (${r.level}) ×${r.alerts}, ${r.firstTs} – ${r.lastTs}`,
    textZh: `${r.enterpriseId}：规则 ${r.ruleId}（${r.level}）${r.alerts} 条，${r.firstTs} 至 ${r.lastTs}`,
    evidence: [{ kind: 'alert', id: r.lastUid, label: r.ruleTitle }],
    data: { ruleId: r.ruleId, level: r.level, alerts: r.alerts, tags: r.tags, firstTs: r.firstTs, lastTs: r.lastTs },
  };
}

function windowIndex(nowMs: number, windowMs: number): string {
  return `w${Math.floor(nowMs / windowMs)}`;
}

export class WarningEvaluator {
  readonly stats: EvaluatorStats = { runs: 0, issued: 0, existing: 0, ruleErrors: 0, lastRunMs: null };
  private readonly instance: string;
  private readonly maxFacts: number;

  constructor(
    private readonly store: CollectorStore,
    readonly rules: readonly WarningRule[],
    private readonly options: EvaluatorOptions = {},
  ) {
    this.instance = options.instance ?? 'collector';
    this.maxFacts = options.maxFacts ?? 50;
  }

  /** Runs every rule at `nowMs` (default: now). */
  async evaluate(nowMs: number = Date.now()): Promise<EvaluationResult> {
    this.stats.runs++;
    const result: EvaluationResult = { issued: [], existing: 0, errors: {} };
    const enterprises = await this.store.listEnterprises(ALL);
    const byId = new Map(enterprises.map((e) => [e.id, e]));
    for (const rule of this.rules) {
      try {
        const passes = rule.drill ? [false, true] : [false];
        for (const drill of passes) {
          for (const c of await this.candidates(rule, drill, nowMs, enterprises, byId)) {
            const warning: NewWarning = {
              dedupeKey: [rule.id, c.province, c.group, c.windowKey, ...(drill ? ['drill'] : [])].join('|'),
              ruleId: rule.id,
              title: rule.title,
              description: rule.description,
              level: rule.level,
              province: c.province,
              audience: c.audience,
              targets: c.targets,
              facts: c.facts.slice(0, this.maxFacts),
              issuedAt: new Date(nowMs).toISOString(),
              issuedBy: `evaluator@${this.instance}`,
              drill,
            };
            const { warning: stored, created } = await this.store.issueWarning(warning);
            if (created) {
              result.issued.push(stored);
              this.options.onEvent?.({ type: 'warning.issued', at: stored.issuedAt, warning: stored });
            } else result.existing++;
          }
        }
      } catch (error) {
        result.errors[rule.id] = (error as Error).message;
        this.stats.ruleErrors++;
      }
    }
    this.stats.issued += result.issued.length;
    this.stats.existing += result.existing;
    this.stats.lastRunMs = nowMs;
    return result;
  }

  private async candidates(
    rule: WarningRule,
    drill: boolean,
    nowMs: number,
    enterprises: Enterprise[],
    byId: Map<string, Enterprise>,
  ): Promise<Candidate[]> {
    const c = rule.condition;
    let out: Candidate[];
    switch (c.kind) {
      case 'spread':
        out = await this.spread(c, drill, nowMs, enterprises, byId);
        break;
      case 'grade_alert':
        out = await this.gradeAlert(c, drill, nowMs, byId);
        break;
      case 'firmware_spread':
        out = await this.firmware(c, nowMs, byId);
        break;
      case 'sensor_silence':
        out = await this.silence(c, nowMs, byId);
        break;
      case 'score_rise':
        out = await this.scoreRise(c, nowMs, byId);
        break;
    }
    return out.map((cand) => this.applyAudience(rule, cand, enterprises));
  }

  /** Replaces the candidate's audience and targets when the rule names an explicit list or the province only. */
  private applyAudience(rule: WarningRule, c: Candidate, enterprises: Enterprise[]): Candidate {
    const a = rule.audience;
    if (a.kind === 'province') return { ...c, audience: { province: c.province }, targets: [] };
    if (a.kind === 'subjects' || a.kind === 'group') return c;
    const targets = enterprises
      .filter(
        (e) =>
          e.province === c.province &&
          ((a.enterprises?.includes(e.id) ?? false) ||
            (a.cities?.includes(e.city) ?? false) ||
            (a.industries?.includes(e.industry) ?? false)),
      )
      .map((e) => e.id);
    const audience: WarningAudience = { province: c.province };
    if (a.cities !== undefined) audience.cities = a.cities;
    if (a.industries !== undefined) audience.industries = a.industries;
    if (a.enterprises !== undefined) audience.enterprises = a.enterprises;
    return { ...c, audience, targets };
  }

  private alertQuery(drill: boolean, nowMs: number, windowMs: number) {
    return {
      from: new Date(nowMs - windowMs).toISOString(),
      to: new Date(nowMs + 1).toISOString(),
      ...(drill ? { drillOnly: true } : {}),
    };
  }

  private async spread(
    c: SpreadCondition,
    drill: boolean,
    nowMs: number,
    enterprises: Enterprise[],
    byId: Map<string, Enterprise>,
  ): Promise<Candidate[]> {
    const rows = await this.store.summarizeAlerts(ALL, {
      ...this.alertQuery(drill, nowMs, c.windowMs),
      minLevel: c.minLevel,
    });
    // group (province, industry|city, rule|technique) → enterprise → rows
    const groups = new Map<
      string,
      { province: string; value: string; key: string; at: Map<string, AlertSummaryRow[]> }
    >();
    for (const r of rows) {
      const e = byId.get(r.enterpriseId);
      if (e === undefined) continue;
      const keys =
        c.key === 'rule' ? [r.ruleId] : r.tags.map((t) => t.toLowerCase()).filter((t) => /^attack\.t\d{4}/.test(t));
      for (const k of keys) {
        if (c.match !== undefined && !c.match.includes(k)) continue;
        const value = e[c.groupBy];
        const id = `${e.province}\u0000${value}\u0000${k}`;
        let g = groups.get(id);
        if (g === undefined) {
          g = { province: e.province, value, key: k, at: new Map() };
          groups.set(id, g);
        }
        const list = g.at.get(e.id) ?? [];
        list.push(r);
        g.at.set(e.id, list);
      }
    }
    const out: Candidate[] = [];
    for (const g of groups.values()) {
      if (g.at.size < c.minEnterprises) continue;
      const members = enterprises.filter((e) => e.province === g.province && e[c.groupBy] === g.value).map((e) => e.id);
      const facts: WarningFact[] = [
        {
          kind: 'spread',
          enterpriseId: null,
          text: `${c.key} ${g.key} at ${g.at.size} enterprises of ${c.groupBy} '${g.value}' within ${c.windowMs / 3_600_000} h`,
          textZh: `${c.key === 'rule' ? '规则' : '攻击技术'} ${g.key} 在${c.groupBy === 'industry' ? '行业' : '城市'}“${g.value}”的 ${g.at.size} 家企业出现`,
          evidence: [...g.at.keys()].map((id): EvidenceRef => ({ kind: 'rule', id: g.key, label: id })),
          data: { key: c.key, value: g.key, groupBy: c.groupBy, group: g.value, enterprises: [...g.at.keys()].sort() },
        },
      ];
      for (const list of g.at.values()) for (const r of list) facts.push(alertFact(r));
      const audience: WarningAudience =
        c.groupBy === 'industry'
          ? { province: g.province, industries: [g.value] }
          : { province: g.province, cities: [g.value] };
      out.push({
        group: `${c.groupBy}=${g.value}|${c.key}=${g.key}`,
        windowKey: windowIndex(nowMs, c.windowMs),
        province: g.province,
        audience,
        targets: members,
        facts,
      });
    }
    return out;
  }

  private async gradeAlert(
    c: GradeAlertCondition,
    drill: boolean,
    nowMs: number,
    byId: Map<string, Enterprise>,
  ): Promise<Candidate[]> {
    const rows = await this.store.summarizeAlerts(ALL, {
      ...this.alertQuery(drill, nowMs, c.windowMs),
      minLevel: c.minLevel,
    });
    const per = new Map<string, AlertSummaryRow[]>();
    for (const r of rows) {
      const e = byId.get(r.enterpriseId);
      if (e === undefined || !c.grades.includes(e.grade)) continue;
      const list = per.get(e.id) ?? [];
      list.push(r);
      per.set(e.id, list);
    }
    return [...per.entries()].map(([id, list]) => {
      const e = byId.get(id) as Enterprise;
      return {
        group: `enterprise=${id}`,
        windowKey: windowIndex(nowMs, c.windowMs),
        province: e.province,
        audience: { province: e.province, enterprises: [id] },
        targets: [id],
        facts: list.map(alertFact),
      };
    });
  }

  private async firmware(
    c: FirmwareSpreadCondition,
    nowMs: number,
    byId: Map<string, Enterprise>,
  ): Promise<Candidate[]> {
    const assets = await this.store.listAllAssets(ALL);
    const groups = new Map<string, { province: string; advisory: string; title: string; at: Map<string, string[]> }>();
    for (const a of assets) {
      const e = byId.get(a.enterpriseId);
      if (e === undefined) continue;
      const advisories = (
        a.record as { advisories?: { advisory: string; title: string; severity: string; status: string }[] }
      ).advisories;
      for (const adv of advisories ?? []) {
        if (adv.status !== 'affected') continue;
        if (c.severities !== undefined && !c.severities.includes(String(adv.severity).toLowerCase())) continue;
        const id = `${e.province}\u0000${adv.advisory}`;
        let g = groups.get(id);
        if (g === undefined) {
          g = { province: e.province, advisory: adv.advisory, title: adv.title, at: new Map() };
          groups.set(id, g);
        }
        const ips = g.at.get(e.id) ?? [];
        ips.push(a.ip);
        g.at.set(e.id, ips);
      }
    }
    const out: Candidate[] = [];
    for (const g of groups.values()) {
      if (g.at.size < c.minEnterprises) continue;
      const targets = [...g.at.keys()].sort();
      out.push({
        group: `advisory=${g.advisory}`,
        windowKey: windowIndex(nowMs, c.windowMs),
        province: g.province,
        audience: { province: g.province, enterprises: targets },
        targets,
        facts: [
          // First the whole finding (bulletins list a warning by its first fact), then one fact per enterprise.
          {
            kind: 'advisory_spread',
            enterpriseId: null,
            text: `${g.advisory} (${g.title}) at ${targets.length} enterprises`,
            textZh: `漏洞通告 ${g.advisory} 涉及 ${targets.length} 家企业`,
            evidence: [],
            data: { advisory: g.advisory, title: g.title, enterprises: targets },
          },
          ...targets.map((id) => ({
            kind: 'asset_advisory',
            enterpriseId: id,
            text: `${id}: ${g.at.get(id)?.length ?? 0} assets affected by ${g.advisory} (${g.title})`,
            textZh: `${id}：${g.at.get(id)?.length ?? 0} 台资产受漏洞通告 ${g.advisory} 影响`,
            evidence: (g.at.get(id) ?? []).map((ip): EvidenceRef => ({ kind: 'asset', id: ip, label: g.advisory })),
            data: { advisory: g.advisory, title: g.title, assets: g.at.get(id) ?? [] },
          })),
        ],
      });
    }
    return out;
  }

  private async silence(c: SensorSilenceCondition, nowMs: number, byId: Map<string, Enterprise>): Promise<Candidate[]> {
    const sensors = await this.store.listSensors(ALL);
    const out: Candidate[] = [];
    for (const s of sensors) {
      const e = byId.get(s.enterpriseId);
      if (e === undefined) continue;
      const since = s.lastSeenAt ?? s.createdAt;
      const silentMs = nowMs - Date.parse(since);
      if (!(silentMs > c.silentMs)) continue;
      out.push({
        // One warning per silence: the key changes only when the sensor reports again and falls silent again.
        group: `sensor=${s.id}`,
        windowKey: `since=${since}`,
        province: e.province,
        audience: { province: e.province, enterprises: [e.id] },
        targets: [e.id],
        facts: [
          {
            kind: 'sensor_silence',
            enterpriseId: e.id,
            text: `sensor ${s.id} ${s.lastSeenAt === null ? 'never reported since its registration' : 'last reported'} at ${since} (${Math.round(silentMs / 60_000)} min ago)`,
            textZh: `探针 ${s.id} ${s.lastSeenAt === null ? '登记后从未上报' : '最后上报于'} ${since}（${Math.round(silentMs / 60_000)} 分钟前）`,
            evidence: [{ kind: 'sensor', id: s.id, label: s.name }],
            data: { sensorId: s.id, lastSeenAt: s.lastSeenAt, silentMinutes: Math.round(silentMs / 60_000) },
          },
        ],
      });
    }
    return out;
  }

  private async scoreRise(c: ScoreRiseCondition, nowMs: number, byId: Map<string, Enterprise>): Promise<Candidate[]> {
    const latest = await this.store.latestRiskScores(ALL);
    const out: Candidate[] = [];
    for (const s of latest) {
      const e = byId.get(s.enterpriseId);
      if (e === undefined || s.score < c.minScore) continue;
      const history = await this.store.riskHistory(
        ALL,
        s.enterpriseId,
        new Date(nowMs - c.windowMs).toISOString(),
        new Date(nowMs + 1).toISOString(),
      );
      if (history.length === 0) continue;
      const low = history.reduce((m, h) => (h.score < m.score ? h : m));
      const rise = s.score - low.score;
      if (rise < c.minRise || Date.parse(low.computedAt) > Date.parse(s.computedAt)) continue;
      out.push({
        group: `enterprise=${e.id}`,
        windowKey: windowIndex(nowMs, c.windowMs),
        province: e.province,
        audience: { province: e.province, enterprises: [e.id] },
        targets: [e.id],
        facts: [
          {
            kind: 'risk_rise',
            enterpriseId: e.id,
            text: `${e.id}: risk score rose from ${low.score} (${low.computedAt}) to ${s.score} (${s.computedAt})`,
            textZh: `${e.id}：风险评分由 ${low.score}（${low.computedAt}）升至 ${s.score}（${s.computedAt}）`,
            evidence: s.contributions
              .filter((x) => x.points > 0)
              .map((x): EvidenceRef => ({ kind: 'rule', id: x.factor, label: `${x.points} points: ${x.detail}` })),
            data: { from: low.score, to: s.score, rise: Math.round(rise * 100) / 100 },
          },
        ],
      });
    }
    return out;
  }
}
