/**
 * Risk warnings (预警): the stored record (defined with the store contract, re-exported here) and the rule format
 * of `data/warnings/*.yaml` (docs/warnings.md).
 */
export type {
  NewWarning,
  WarningAudience,
  WarningFact,
  WarningFilter,
  WarningLevel,
  WarningRecord,
  WarningState,
  WarningTarget,
} from '../store/types.ts';
export { WARNING_LEVEL_ZH, WARNING_LEVELS, WARNING_STATES } from '../store/types.ts';

import type { Level, WarningLevel } from '../store/types.ts';

/**
 * Who a rule's warnings go to:
 * - `group`: every enterprise of the group that fired (the industry or city of a spread rule; the enterprises of
 *   the facts otherwise);
 * - `subjects`: the enterprises the facts are about;
 * - `province`: the province regulator only (no enterprise targets);
 * - an explicit list of cities, industries and/or enterprises.
 */
export type RuleAudience =
  | { kind: 'group' }
  | { kind: 'subjects' }
  | { kind: 'province' }
  | { kind: 'list'; cities?: string[]; industries?: string[]; enterprises?: string[] };

/** The same rule or ATT&CK technique at ≥ minEnterprises enterprises of one industry or city within `windowMs`. */
export interface SpreadCondition {
  kind: 'spread';
  key: 'rule' | 'technique';
  groupBy: 'industry' | 'city';
  minEnterprises: number;
  windowMs: number;
  minLevel: Level;
  /** Only these rules / techniques (`attack.t0843` or `T0843`); absent: any. */
  match?: string[];
}

/** An alert at or above `minLevel` at an enterprise of a declared grade in `grades` within `windowMs`. */
export interface GradeAlertCondition {
  kind: 'grade_alert';
  grades: (1 | 2 | 3)[];
  minLevel: Level;
  windowMs: number;
}

/** A vulnerable-firmware advisory (status affected) present at ≥ minEnterprises enterprises. */
export interface FirmwareSpreadCondition {
  kind: 'firmware_spread';
  minEnterprises: number;
  /** At most one warning per advisory per window. */
  windowMs: number;
  /** Advisory severities that count (absent: all). */
  severities?: string[];
}

/** A registered sensor not heard from for more than `silentMs` (never-seen sensors count after `silentMs` too). */
export interface SensorSilenceCondition {
  kind: 'sensor_silence';
  silentMs: number;
}

/** An enterprise's risk score rising by ≥ `minRise` points within `windowMs` (to at least `minScore`). */
export interface ScoreRiseCondition {
  kind: 'score_rise';
  minRise: number;
  windowMs: number;
  minScore: number;
}

export type WarningCondition =
  | SpreadCondition
  | GradeAlertCondition
  | FirmwareSpreadCondition
  | SensorSilenceCondition
  | ScoreRiseCondition;

export interface WarningRule {
  id: string;
  title: { zh: string; en: string };
  level: WarningLevel;
  description: string;
  audience: RuleAudience;
  condition: WarningCondition;
  /** Evaluate over drill alerts too (issuing drill-marked warnings); default true for alert-based rules. */
  drill: boolean;
  /** Where the rule came from (file:line), for messages. */
  source: string;
}
