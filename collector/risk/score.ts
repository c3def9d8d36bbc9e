/**
 * The risk formula (docs/risk.md), pure: facts in, an explained score out. Each factor gives
 * `points = weight × saturation(measure)` with `saturation(m) = 1 − e^(−m/scale)` (sensor silence:
 * `weight × silent fraction`); the score is the sum of the points, every contribution names the facts behind it, and
 * the points are rounded to 0.01 before summing so the contributions add up to the score exactly.
 */
import type {
  AlertSummaryRow,
  Enterprise,
  EvidenceRef,
  RiskContribution,
  RiskFactor,
  RiskScore,
  Sensor,
  StoredAsset,
} from '../store/types.ts';
import type { RiskConfig, SaturatingFactor } from './config.ts';
import { inAnyWindow, parseOffset, parseWindows } from './windows.ts';

export interface EnterpriseFacts {
  enterprise: Enterprise;
  /** Non-drill alerts over the lookback, in hourly buckets. */
  alerts: AlertSummaryRow[];
  /** Non-drill alerts of engineering rules over the lookback, in one-minute buckets. */
  engineering: AlertSummaryRow[];
  assets: StoredAsset[];
  sensors: Sensor[];
}

/** Evidence references kept per contribution at most (the measure still counts everything). */
const MAX_EVIDENCE = 20;
const HOUR_MS = 3_600_000;

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function saturate(config: RiskConfig, factor: SaturatingFactor, measure: number): number {
  return config.weights[factor] * (1 - Math.exp(-measure / config.scales[factor]));
}

function decay(ageMs: number, halfLifeHours: number): number {
  return 0.5 ** (Math.max(0, ageMs) / (halfLifeHours * HOUR_MS));
}

function contribution(
  factor: RiskFactor,
  weight: number,
  points: number,
  measure: number,
  detail: string,
  detailZh: string,
  evidence: EvidenceRef[],
): RiskContribution {
  return {
    factor,
    points: round2(points),
    weight,
    measure: round2(measure),
    detail,
    detailZh,
    evidence: evidence.slice(0, MAX_EVIDENCE),
  };
}

/** Whether an alert group is an engineering action under the configuration. */
export function isEngineering(config: RiskConfig, row: { ruleId: string; tags: string[] }): boolean {
  if (config.engineering.rules.includes(row.ruleId)) return true;
  for (const t of row.tags) if (config.engineering.tags.includes(t.toLowerCase())) return true;
  return false;
}

function alertsFactor(f: EnterpriseFacts, config: RiskConfig, nowMs: number): RiskContribution {
  const perRule = new Map<string, { mass: number; alerts: number; level: string; title: string; uid: string }>();
  let mass = 0;
  let alerts = 0;
  for (const row of f.alerts) {
    const weight = config.alerts.levels[row.level] ?? 0;
    const m =
      weight *
      row.alerts *
      (row.resolved ? config.alerts.resolvedFactor : 1) *
      decay(nowMs - Date.parse(row.lastTs), config.alerts.halfLifeHours);
    mass += m;
    alerts += row.alerts;
    const key = `${row.ruleId}\u0000${row.level}`;
    const r = perRule.get(key);
    if (r === undefined) {
      perRule.set(key, { mass: m, alerts: row.alerts, level: row.level, title: row.ruleTitle, uid: row.lastUid });
    } else {
      r.mass += m;
      r.alerts += row.alerts;
      if (row.lastUid > r.uid) r.uid = row.lastUid;
    }
  }
  const top = [...perRule.entries()].sort((a, b) => b[1].mass - a[1].mass);
  const evidence: EvidenceRef[] = top.map(([key, r]) => ({
    kind: 'alert',
    id: r.uid,
    label: `${key.split('\u0000')[0]} (${r.level}) ×${r.alerts}: ${r.title}`,
  }));
  const summary = top
    .slice(0, 3)
    .map(([key, r]) => `${key.split('\u0000')[0]} ${r.level} ×${r.alerts}`)
    .join(', ');
  return contribution(
    'alerts',
    config.weights.alerts,
    saturate(config, 'alerts', mass),
    mass,
    alerts === 0
      ? `no alerts in the last ${config.alerts.lookbackDays} days`
      : `${alerts} alerts in the last ${config.alerts.lookbackDays} days, decayed level mass ${round2(mass)}${summary ? ` (top: ${summary})` : ''}`,
    alerts === 0
      ? `近 ${config.alerts.lookbackDays} 天无告警`
      : `近 ${config.alerts.lookbackDays} 天告警 ${alerts} 条，按级别与时效加权 ${round2(mass)}`,
    evidence,
  );
}

function opcuaFactor(f: EnterpriseFacts, config: RiskConfig): RiskContribution {
  const evidence: EvidenceRef[] = [];
  const servers: string[] = [];
  if (config.opcua.certificateless) {
    for (const a of f.assets) {
      const r = a.record as { served?: { proto: string }[]; certificates?: unknown[] };
      const servesOpcua = (r.served ?? []).some((s) => s.proto === 'opcua');
      if (servesOpcua && (r.certificates ?? []).length === 0) {
        servers.push(a.ip);
        evidence.push({ kind: 'asset', id: a.ip, label: 'serves OPC UA, never presented a certificate' });
      }
    }
  }
  const rules = new Map<string, { uid: string; title: string }>();
  for (const row of f.alerts) {
    if (!config.opcua.postureRules.includes(row.ruleId)) continue;
    const r = rules.get(row.ruleId);
    if (r === undefined || row.lastUid > r.uid) rules.set(row.ruleId, { uid: row.lastUid, title: row.ruleTitle });
  }
  for (const [rule, r] of rules) evidence.push({ kind: 'alert', id: r.uid, label: `${rule}: ${r.title}` });
  const measure = servers.length + rules.size;
  return contribution(
    'opcua_unsecured',
    config.weights.opcua_unsecured,
    saturate(config, 'opcua_unsecured', measure),
    measure,
    `${servers.length} OPC UA servers without certificates, ${rules.size} OPC UA posture rules alerted`,
    `未启用证书的 OPC UA 服务器 ${servers.length} 台，OPC UA 安全配置告警规则 ${rules.size} 条`,
    evidence,
  );
}

function plcWritersFactor(f: EnterpriseFacts, config: RiskConfig): RiskContribution {
  const writers = new Set<string>();
  for (const a of f.assets) {
    const activity = (a.record as { activity?: Record<string, number> }).activity ?? {};
    if (config.plcWriters.writeActivity.some((k) => (activity[k] ?? 0) > 0)) writers.add(a.ip);
  }
  let measure = 0;
  const evidence: EvidenceRef[] = [];
  let plcs = 0;
  for (const a of f.assets) {
    if (a.role !== 'plc') continue;
    const peers = Object.keys((a.record as { peers?: Record<string, unknown> }).peers ?? {});
    const writing = peers.filter((p) => writers.has(p));
    if (writing.length >= config.plcWriters.minWriters) {
      plcs++;
      measure += writing.length - config.plcWriters.minWriters + 1;
      evidence.push({
        kind: 'asset',
        id: a.ip,
        label: `PLC written by ${writing.length} hosts: ${writing.join(', ')}`,
      });
    }
  }
  return contribution(
    'plc_many_writers',
    config.weights.plc_many_writers,
    saturate(config, 'plc_many_writers', measure),
    measure,
    `${plcs} PLCs written to from ${config.plcWriters.minWriters} or more hosts`,
    `被 ${config.plcWriters.minWriters} 台及以上主机写入的 PLC ${plcs} 台`,
    evidence,
  );
}

function firmwareFactor(f: EnterpriseFacts, config: RiskConfig): RiskContribution {
  let measure = 0;
  let count = 0;
  const evidence: EvidenceRef[] = [];
  for (const a of f.assets) {
    const advisories = (
      a.record as { advisories?: { advisory: string; title: string; severity: string; status: string }[] }
    ).advisories;
    for (const adv of advisories ?? []) {
      if (adv.status !== 'affected') continue;
      count++;
      measure += config.firmware.severities[String(adv.severity).toLowerCase()] ?? config.firmware.default;
      evidence.push({ kind: 'advisory', id: adv.advisory, label: `${a.ip}: ${adv.title} (${adv.severity})` });
    }
  }
  return contribution(
    'vulnerable_firmware',
    config.weights.vulnerable_firmware,
    saturate(config, 'vulnerable_firmware', measure),
    measure,
    `${count} affected advisories on this enterprise's assets`,
    `资产命中漏洞通告（受影响版本）${count} 条`,
    evidence,
  );
}

function engineeringFactor(f: EnterpriseFacts, config: RiskConfig, nowMs: number): RiskContribution {
  const { windows, invalid } = parseWindows(f.enterprise.maintenanceWindows);
  const offset = parseOffset(config.engineering.utcOffset);
  let measure = 0;
  let outside = 0;
  let inside = 0;
  const evidence: EvidenceRef[] = [];
  for (const row of f.engineering) {
    if (!isEngineering(config, row)) continue;
    // One-minute buckets: every alert of the bucket is within a minute of its last one.
    if (inAnyWindow(windows, Date.parse(row.lastTs), offset)) {
      inside += row.alerts;
      continue;
    }
    outside += row.alerts;
    measure += row.alerts * decay(nowMs - Date.parse(row.lastTs), config.engineering.halfLifeHours);
    evidence.push({ kind: 'alert', id: row.lastUid, label: `${row.ruleId} at ${row.lastTs}: ${row.ruleTitle}` });
  }
  evidence.sort((a, b) => (a.id < b.id ? 1 : -1));
  const declared = windows.map((w) => w.text).join('; ') || 'none';
  const bad =
    invalid.length === 0 ? '' : `; ignored unparsable windows: ${invalid.map((i) => `'${i.text}'`).join(', ')}`;
  return contribution(
    'engineering_outside_window',
    config.weights.engineering_outside_window,
    saturate(config, 'engineering_outside_window', measure),
    measure,
    `${outside} engineering actions outside the declared maintenance windows (${declared}), ${inside} inside${bad}`,
    `维护窗口（${declared}）外的工程操作 ${outside} 次，窗口内 ${inside} 次${invalid.length === 0 ? '' : `；无法解析的窗口 ${invalid.length} 个已忽略`}`,
    evidence,
  );
}

function silenceFactor(f: EnterpriseFacts, config: RiskConfig, nowMs: number): RiskContribution {
  const limitMs = config.silence.afterMinutes * 60_000;
  const silent = f.sensors.filter((s) => s.lastSeenAt === null || nowMs - Date.parse(s.lastSeenAt) > limitMs);
  const fraction = f.sensors.length === 0 ? 1 : silent.length / f.sensors.length;
  const evidence: EvidenceRef[] = silent.map((s) => ({
    kind: 'sensor',
    id: s.id,
    label: s.lastSeenAt === null ? 'never reported' : `last report ${s.lastSeenAt}`,
  }));
  return contribution(
    'sensor_silence',
    config.weights.sensor_silence,
    config.weights.sensor_silence * fraction,
    fraction,
    f.sensors.length === 0
      ? 'no sensor registered (no monitoring coverage)'
      : `${silent.length} of ${f.sensors.length} sensors silent for more than ${config.silence.afterMinutes} minutes`,
    f.sensors.length === 0
      ? '未登记探针（无监测覆盖）'
      : `${f.sensors.length} 个探针中 ${silent.length} 个超过 ${config.silence.afterMinutes} 分钟未上报`,
    evidence,
  );
}

/** Scores one enterprise at `nowMs` from its facts. */
export function scoreEnterprise(f: EnterpriseFacts, config: RiskConfig, nowMs: number): RiskScore {
  const contributions = [
    alertsFactor(f, config, nowMs),
    opcuaFactor(f, config),
    plcWritersFactor(f, config),
    firmwareFactor(f, config),
    engineeringFactor(f, config, nowMs),
    silenceFactor(f, config, nowMs),
  ];
  const score = round2(contributions.reduce((n, c) => n + c.points, 0));
  return {
    enterpriseId: f.enterprise.id,
    province: f.enterprise.province,
    score: Math.min(100, Math.max(0, score)),
    computedAt: new Date(nowMs).toISOString(),
    contributions,
  };
}
