/**
 * Grading flags (定级核查): where observed facts suggest the enterprise's self-declared grade (一级/二级/三级) or class
 * is too low. The MIIT classification and grading regime for industrial internet enterprises (工业互联网企业网络安全
 * 分类分级管理) grades an enterprise by how important it is and by how far-reaching the consequences of a security
 * incident there would be for production, safety and the economy; the higher the potential consequence, the higher
 * the grade (三级 highest). A passive sensor cannot measure importance, but it does see facts that raise the
 * potential consequence or the likelihood of an incident. Each rule below names the fact, the grade it suggests at
 * least, and the grading idea it supports. A flag is raised only when the declared grade is below the suggestion;
 * the assessor decides.
 */
import type { Enterprise, EnterpriseClass, EvidenceRef } from '../store/types.ts';
import { type Findings, SEVERITY_RANK } from './findings.ts';

export interface FlagRule {
  id: string;
  title: { zh: string; en: string };
  /** The grading idea the rule supports. */
  idea: { zh: string; en: string };
}

export interface GradingFlag {
  rule: string;
  title: { zh: string; en: string };
  idea: { zh: string; en: string };
  declaredGrade: 1 | 2 | 3;
  suggestedGrade: 1 | 2 | 3 | null;
  declaredClass: EnterpriseClass;
  suggestedClass: EnterpriseClass | null;
  /** What was observed, in words. */
  observed: { zh: string; en: string };
  evidence: EvidenceRef[];
}

/** Distinct hosts writing to one controller from which the "many writers" rule fires. */
export const MANY_WRITERS = 3;
const HIGH = SEVERITY_RANK.high ?? 3;

export const FLAG_RULES = {
  plc_written_from_outside_zone: {
    id: 'plc_written_from_outside_zone',
    title: { zh: '控制区外主机写入 PLC', en: 'PLC written to from outside its control zone' },
    idea: {
      zh: '分级考虑网络安全事件对生产运行的影响程度：控制设备可被控制区外主机写入，说明控制网络边界未隔离，外部或办公网的入侵可直接改变生产过程，潜在后果高于声明的等级所假定的程度。',
      en: 'Grading weighs how badly an incident would hit production: a controller that hosts outside its control zone can write to means the control network boundary is open, so an intrusion elsewhere can change the physical process directly — a larger potential consequence than the declared grade assumes.',
    },
  },
  plc_many_writers: {
    id: 'plc_many_writers',
    title: { zh: 'PLC 被多台主机写入', en: 'PLC written to by many hosts' },
    idea: {
      zh: '分级考虑受影响范围与被利用的可能：多台主机可写入同一控制器，攻击面大、任一主机失陷即可影响生产，宜按更高等级落实访问控制。',
      en: 'Grading weighs reach and likelihood: many hosts able to write to one controller make a large attack surface where any one compromised host reaches production, which argues for the controls of a higher grade.',
    },
  },
  vulnerable_controller_firmware: {
    id: 'vulnerable_controller_firmware',
    title: { zh: '控制器固件存在高危已知漏洞', en: 'Controller firmware with high/critical known vulnerabilities' },
    idea: {
      zh: '分级考虑安全事件发生的可能性与后果：控制器运行受高危/严重公告影响的固件，入侵可直接导致停机或失控，不宜按最低等级管理。',
      en: 'Grading weighs likelihood and consequence: a controller running firmware in a high/critical advisory’s affected range can be stopped or taken over, which is not a lowest-grade situation.',
    },
  },
  vulnerable_controller_reachable: {
    id: 'vulnerable_controller_reachable',
    title: {
      zh: '存在高危漏洞的控制器被控制区外或多台主机写入',
      en: 'Vulnerable controller written to from outside or by many hosts',
    },
    idea: {
      zh: '可利用的漏洞与开放的写入路径同时存在时，事件既容易发生又直接作用于生产过程，按分级思路应对应最高等级的防护要求。',
      en: 'An exploitable vulnerability together with an open write path makes an incident both likely and directly physical: the grading idea puts that at the highest grade’s protection level.',
    },
  },
  opcua_unsecured_writes: {
    id: 'opcua_unsecured_writes',
    title: { zh: 'OPC UA 未启用安全策略且承载写操作', en: 'OPC UA without security carrying writes' },
    idea: {
      zh: '分级考虑数据与控制指令的保护程度：未加密、未签名的 OPC UA 会话承载写入或方法调用，指令可被窃听和篡改，影响生产数据完整性。',
      en: 'Grading weighs how control commands and data are protected: unsigned, unencrypted OPC UA sessions carrying writes or method calls can be read and altered in transit, putting production data integrity at stake.',
    },
  },
  engineering_actions: {
    id: 'engineering_actions',
    title: { zh: '网络中存在控制器组态/启停操作', en: 'Engineering actions on controllers over the network' },
    idea: {
      zh: '分级考虑业务对工业控制系统的依赖程度：通过网络下装程序、启停控制器，说明控制逻辑可远程改变，一旦滥用直接影响生产安全。',
      en: 'Grading weighs how much the business depends on its control systems: program downloads and stop/start commands over the network show the control logic can be changed remotely, and misuse hits production safety directly.',
    },
  },
  class_mismatch: {
    id: 'class_mismatch',
    title: { zh: '企业类别与观测不符', en: 'Declared class does not match what is observed' },
    idea: {
      zh: '分类依据企业主要业务形态：观测到工业控制设备（PLC）及工控协议通信的企业应作为联网工业企业管理。',
      en: 'Classes follow what the enterprise runs: one whose network carries PLCs and industrial control protocols is a networked industrial enterprise (联网工业企业).',
    },
  },
} as const satisfies Record<string, FlagRule>;

export type FlagRuleId = keyof typeof FLAG_RULES;

function flag(
  id: FlagRuleId,
  e: Enterprise,
  suggestedGrade: 1 | 2 | 3 | null,
  observed: { zh: string; en: string },
  evidence: EvidenceRef[],
  suggestedClass: EnterpriseClass | null = null,
): GradingFlag {
  const r = FLAG_RULES[id];
  return {
    rule: id,
    title: r.title,
    idea: r.idea,
    declaredGrade: e.grade,
    suggestedGrade,
    declaredClass: e.class,
    suggestedClass,
    observed,
    evidence: evidence.slice(0, 50),
  };
}

/** The flags the findings raise for this enterprise (only those above its declared grade or class). */
export function gradingFlags(e: Enterprise, f: Findings, opts: { manyWriters?: number } = {}): GradingFlag[] {
  const many = opts.manyWriters ?? MANY_WRITERS;
  const out: GradingFlag[] = [];
  const want = (grade: 1 | 2 | 3) => e.grade < grade;

  const outside = f.plcWriters.filter((w) => w.outsideZone.length > 0);
  if (outside.length > 0 && want(2)) {
    out.push(
      flag(
        'plc_written_from_outside_zone',
        e,
        2,
        {
          zh: outside.map((w) => `PLC ${w.ip} 被 ${w.outsideZone.join('、')} 写入`).join('；'),
          en: outside.map((w) => `PLC ${w.ip} written to by ${w.outsideZone.join(', ')}`).join('; '),
        },
        outside.flatMap((w) => w.evidence),
      ),
    );
  }
  const crowded = f.plcWriters.filter((w) => w.writers.length >= many);
  if (crowded.length > 0 && want(2)) {
    out.push(
      flag(
        'plc_many_writers',
        e,
        2,
        {
          zh: crowded.map((w) => `PLC ${w.ip} 有 ${w.writers.length} 台主机写入`).join('；'),
          en: crowded.map((w) => `PLC ${w.ip} written to by ${w.writers.length} hosts`).join('; '),
        },
        crowded.flatMap((w) => w.evidence),
      ),
    );
  }
  const vulnerable = f.vulnerableFirmware.filter((v) => v.role === 'plc' && (SEVERITY_RANK[v.severity] ?? 0) >= HIGH);
  if (vulnerable.length > 0 && want(2)) {
    out.push(
      flag(
        'vulnerable_controller_firmware',
        e,
        2,
        {
          zh: vulnerable.map((v) => `${v.ip} 受 ${v.advisory}（${v.severity}）影响`).join('；'),
          en: vulnerable.map((v) => `${v.ip} affected by ${v.advisory} (${v.severity})`).join('; '),
        },
        vulnerable.flatMap((v) => v.evidence),
      ),
    );
  }
  const vulnerableIps = new Set(vulnerable.map((v) => v.ip));
  const reachable = f.plcWriters.filter(
    (w) => vulnerableIps.has(w.ip) && (w.outsideZone.length > 0 || w.writers.length >= many),
  );
  if (reachable.length > 0 && want(3)) {
    out.push(
      flag(
        'vulnerable_controller_reachable',
        e,
        3,
        {
          zh: reachable
            .map(
              (w) =>
                `存在高危漏洞的 PLC ${w.ip} 被 ${w.writers.length} 台主机写入（控制区外 ${w.outsideZone.length} 台）`,
            )
            .join('；'),
          en: reachable
            .map(
              (w) =>
                `vulnerable PLC ${w.ip} written to by ${w.writers.length} hosts (${w.outsideZone.length} outside its zone)`,
            )
            .join('; '),
        },
        reachable.flatMap((w) => w.evidence),
      ),
    );
  }
  const opcua = f.opcuaUnsecured.filter((o) => o.writes > 0);
  if (opcua.length > 0 && want(2)) {
    out.push(
      flag(
        'opcua_unsecured_writes',
        e,
        2,
        {
          zh: opcua.map((o) => `OPC UA 服务器 ${o.ip} 在无安全策略下承载 ${o.writes} 次写入/调用`).join('；'),
          en: opcua.map((o) => `OPC UA server ${o.ip} carried ${o.writes} writes/calls without security`).join('; '),
        },
        opcua.flatMap((o) => o.evidence),
      ),
    );
  }
  if (f.engineering.length > 0 && want(2)) {
    out.push(
      flag(
        'engineering_actions',
        e,
        2,
        {
          zh: f.engineering.map((x) => `${x.client} → ${x.server}：${x.title} ×${x.count}`).join('；'),
          en: f.engineering.map((x) => `${x.client} → ${x.server}: ${x.title} ×${x.count}`).join('; '),
        },
        f.engineering.flatMap((x) => x.evidence),
      ),
    );
  }
  const controllers = new Set(f.controllers);
  if (e.class !== 'networked_industrial' && (controllers.size > 0 || f.engineering.length > 0)) {
    out.push(
      flag(
        'class_mismatch',
        e,
        null,
        {
          zh: `声明类别为 ${e.class}，但观测到控制器 ${[...controllers].join('、') || '（见组态操作）'}`,
          en: `declared class ${e.class}, but controllers were observed: ${[...controllers].join(', ') || '(see engineering actions)'}`,
        },
        [...f.plcWriters.flatMap((w) => w.evidence), ...f.engineering.flatMap((x) => x.evidence)],
        'networked_industrial',
      ),
    );
  }
  return out;
}
