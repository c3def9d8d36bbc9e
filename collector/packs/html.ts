/** A readable, self-contained HTML view of an evidence pack (zh-CN by default, English with lang `en`). */
import { escapeHtml as esc } from '../bulletins/html.ts';
import { LEVELS } from '../store/types.ts';
import type { PackData } from './build.ts';

const T = {
  'zh-CN': {
    title: '定级核查证据包',
    enterprise: '企业',
    declared: '自主申报',
    grade: (g: number) => ['', '一级', '二级', '三级'][g] ?? String(g),
    period: '核查周期',
    generated: '生成时间',
    flags: '一、定级核查提示',
    noFlags: '未发现与申报等级/类别不符的观测事实。',
    suggested: '建议不低于',
    idea: '分级依据',
    observed: '观测事实',
    evidence: '证据',
    inventory: '二、资产清单',
    ip: 'IP',
    role: '角色',
    protocols: '协议',
    identity: '身份信息（含证据）',
    seen: '首次/最近发现',
    exposure: '三、暴露面发现',
    writers: 'PLC 写入来源',
    opcua: '未启用安全策略的 OPC UA',
    vulnerable: '已知漏洞固件',
    engineering: '组态/启停操作',
    alerts: '四、告警历史',
    level: '级别',
    count: '数量',
    unresolved: '未处置',
    rule: '规则',
    last: '最近',
    sensors: '五、探针覆盖',
    sensor: '探针',
    lastSeen: '最后上报',
    health: '采集（包/丢包）',
    traffic: '协议流量（PDU）',
    none: '无',
    signed: '本证据包由采集中心 Ed25519 密钥签名，manifest.json 列出每个文件的 SHA-256；使用 otcollector verify 校验。',
    truncated: '（告警数量超过上限，仅读取部分）',
  },
  en: {
    title: 'Grading evidence pack',
    enterprise: 'Enterprise',
    declared: 'Declared',
    grade: (g: number) => `grade ${g}`,
    period: 'Period',
    generated: 'Generated',
    flags: '1. Grading flags',
    noFlags: 'No observed fact suggests the declared grade or class is too low.',
    suggested: 'suggested at least',
    idea: 'Grading idea',
    observed: 'Observed',
    evidence: 'Evidence',
    inventory: '2. Asset inventory',
    ip: 'IP',
    role: 'Role',
    protocols: 'Protocols',
    identity: 'Identity (with evidence)',
    seen: 'First / last seen',
    exposure: '3. Exposure findings',
    writers: 'Who writes to PLCs',
    opcua: 'OPC UA without security',
    vulnerable: 'Firmware with known vulnerabilities',
    engineering: 'Engineering actions',
    alerts: '4. Alert history',
    level: 'Level',
    count: 'Count',
    unresolved: 'Unresolved',
    rule: 'Rule',
    last: 'Latest',
    sensors: '5. Sensor coverage',
    sensor: 'Sensor',
    lastSeen: 'Last report',
    health: 'Capture (packets/drops)',
    traffic: 'Traffic (PDUs)',
    none: 'None',
    signed:
      'This pack is signed with the collector’s Ed25519 key; manifest.json lists every file’s SHA-256. Check it with otcollector verify.',
    truncated: ' (more alerts than the cap: only part was read)',
  },
};

function table(columns: string[], rows: string[][], none: string): string {
  if (rows.length === 0) return `<p class="empty">${esc(none)}</p>`;
  return `<table><thead><tr>${columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const CSS = `body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;max-width:1000px;margin:24px auto;padding:0 16px;color:#1f2937;font-size:14px;line-height:1.5}
h1{font-size:21px;border-bottom:2px solid #1d4ed8;padding-bottom:8px}h2{font-size:17px;margin-top:26px;border-left:4px solid #1d4ed8;padding-left:8px}
table{border-collapse:collapse;width:100%;font-size:12.5px;margin:6px 0 14px}th,td{border:1px solid #d1d5db;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f3f4f6}
.flag{border:1px solid #fca5a5;background:#fef2f2;border-radius:6px;padding:8px 12px;margin:8px 0}.flag h3{margin:0 0 4px;font-size:15px;color:#b91c1c}
.empty{color:#6b7280;font-style:italic}.small{font-size:12px;color:#4b5563}code{font-size:11.5px;word-break:break-all}`;

interface IdentityLike {
  value?: string;
  evidence?: { message?: string; ts?: string; event?: string } | string;
}

export function renderPackHtml(d: PackData): string {
  const t = T[d.lang];
  const e = d.enterprise;
  const lang = d.lang;
  const flags =
    d.flags.length === 0
      ? `<p>${esc(t.noFlags)}</p>`
      : d.flags
          .map(
            (f) =>
              `<div class="flag"><h3>${esc(lang === 'en' ? f.title.en : f.title.zh)}</h3>` +
              `<p>${esc(t.declared)}：${esc(f.suggestedGrade !== null ? t.grade(f.declaredGrade) : f.declaredClass)} → ${esc(t.suggested)} ${esc(f.suggestedGrade !== null ? t.grade(f.suggestedGrade) : String(f.suggestedClass))}</p>` +
              `<p><b>${esc(t.observed)}</b>：${esc(lang === 'en' ? f.observed.en : f.observed.zh)}</p>` +
              `<p class="small"><b>${esc(t.idea)}</b>：${esc(lang === 'en' ? f.idea.en : f.idea.zh)}</p>` +
              `<p class="small"><b>${esc(t.evidence)}</b>：<code>${esc(f.evidence.map((x) => x.id).join(' '))}</code></p></div>`,
          )
          .join('');
  const assets = table(
    [t.ip, t.role, t.protocols, t.identity, t.seen],
    d.inventory.assets.map((a) => {
      const r = a.record as { protocols?: string[]; identity?: Record<string, IdentityLike>; mac?: string | null };
      const identity = Object.entries(r.identity ?? {})
        .map(([k, v]) => {
          const ev = typeof v.evidence === 'string' ? v.evidence : (v.evidence?.message ?? '');
          return `${k}=${v.value ?? ''} (${ev})`;
        })
        .join('; ');
      return [
        `${a.ip}${r.mac ? ` ${r.mac}` : ''}`,
        a.role,
        (r.protocols ?? []).join(', '),
        identity,
        `${a.firstSeen} / ${a.lastSeen}`,
      ];
    }),
    t.none,
  );
  const x = d.exposure;
  const exposure = [
    `<h3>${esc(t.writers)}</h3>`,
    table(
      ['PLC', 'writers', 'outside zone', 'writes', t.evidence],
      x.plcWriters.map((w) => [
        w.ip,
        w.writers.join(', '),
        w.outsideZone.join(', ') || '—',
        String(w.writes),
        w.evidence
          .slice(0, 5)
          .map((r) => r.id)
          .join(' '),
      ]),
      t.none,
    ),
    `<h3>${esc(t.opcua)}</h3>`,
    table(
      ['server', 'rules', 'writes', t.evidence],
      x.opcuaUnsecured.map((o) => [
        o.ip,
        o.rules.join(', '),
        String(o.writes),
        o.evidence
          .slice(0, 5)
          .map((r) => r.id)
          .join(' '),
      ]),
      t.none,
    ),
    `<h3>${esc(t.vulnerable)}</h3>`,
    table(
      [t.ip, 'advisory', 'severity', 'CVE', 'version'],
      x.vulnerableFirmware.map((v) => [
        v.ip,
        `${v.advisory} ${v.title}`,
        v.severity,
        v.cve.join(', '),
        v.version ?? '?',
      ]),
      t.none,
    ),
    `<h3>${esc(t.engineering)}</h3>`,
    table(
      [t.rule, 'client → server', t.count, t.last],
      x.engineering.map((g) => [`${g.title} (${g.ruleId})`, `${g.client} → ${g.server}`, String(g.count), g.lastTs]),
      t.none,
    ),
  ].join('');
  const alerts =
    table(
      [t.level, t.count],
      [...LEVELS].reverse().map((l) => [l, String(d.alerts.byLevel[l])]),
      t.none,
    ) +
    table(
      [t.rule, t.level, t.count, t.unresolved, t.last],
      d.alerts.rules.map((r) => [
        `${r.title} (${r.ruleId})`,
        r.level,
        String(r.alerts),
        String(r.unresolved),
        `${r.lastTs} ${r.lastUid}`,
      ]),
      t.none,
    ) +
    (d.alertsTruncated ? `<p class="small">${esc(t.truncated)}</p>` : '');
  const sensors =
    table(
      [t.sensor, t.lastSeen, t.health, 'clock offset ms', 'outbox'],
      d.sensors.map((s) => [
        `${s.sensorId} ${s.name}`,
        s.lastSeenAt ?? '—',
        s.capture ? `${s.capture.packets} / ${s.capture.drops}` : '—',
        s.clockOffsetMs === null ? '—' : String(s.clockOffsetMs),
        s.outboxDepth === null ? '—' : String(s.outboxDepth),
      ]),
      t.none,
    ) +
    `<h3>${esc(t.traffic)}</h3>` +
    table(
      ['protocol', 'PDUs'],
      d.protocols.traffic.map((p) => [p.protocol, String(p.pdus)]),
      t.none,
    );
  return [
    `<!doctype html><html lang="${d.lang}"><head><meta charset="utf-8"><title>${esc(t.title)} ${esc(e.name)}</title><style>${CSS}</style></head><body>`,
    `<h1>${esc(t.title)}：${esc(e.name)}（${esc(e.id)}）</h1>`,
    `<p>${esc(t.enterprise)}：${esc(e.province)} / ${esc(e.city)} / ${esc(e.industry)}；${esc(t.declared)}：${esc(e.classZh)}，${esc(t.grade(e.grade))}</p>`,
    `<p>${esc(t.period)}：${esc(d.period.from)} — ${esc(d.period.to)}；${esc(t.generated)}：${esc(d.generatedAt)}；<code>${esc(d.packId)}</code></p>`,
    `<p class="small">${esc(t.signed)}</p>`,
    `<h2>${esc(t.flags)}</h2>${flags}`,
    `<h2>${esc(t.inventory)}</h2>${assets}`,
    `<h2>${esc(t.exposure)}</h2>${exposure}`,
    `<h2>${esc(t.alerts)}</h2>${alerts}`,
    `<h2>${esc(t.sensors)}</h2>${sensors}`,
    '</body></html>',
  ].join('\n');
}
