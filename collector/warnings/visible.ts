/**
 * What of a warning a caller may see. A warning can target several enterprises (a technique spreading through an
 * industry, a vulnerable firmware at several sites), yet an enterprise sees nothing of another enterprise: an
 * enterprise or assessor caller (scope = a list of enterprises) gets only its own target entries and facts, and the
 * summary facts without the other enterprises' ids. How many enterprises a finding reaches stays visible (the
 * summary's text gives the count): that the threat is wider than one plant is the point of a warning.
 */
import type { Scope, WarningFact, WarningRecord } from '../store/types.ts';

export function warningVisibleTo(w: WarningRecord, scope: Scope): WarningRecord {
  if (scope.kind !== 'enterprises') return w;
  const mine = new Set(scope.enterprises);
  const { enterprises } = w.audience;
  return {
    ...w,
    audience:
      enterprises === undefined ? w.audience : { ...w.audience, enterprises: enterprises.filter((e) => mine.has(e)) },
    targets: w.targets.filter((t) => mine.has(t.enterpriseId)),
    facts: w.facts.filter((f) => f.enterpriseId === null || mine.has(f.enterpriseId)).map((f) => summaryFor(f, mine)),
  };
}

/** A fact about one visible enterprise as it is; a summary fact (no enterprise) without the ids of the others. */
function summaryFor(f: WarningFact, mine: ReadonlySet<string>): WarningFact {
  if (f.enterpriseId !== null) return f;
  const data = { ...f.data };
  if (Array.isArray(data['enterprises'])) data['enterprises'] = data['enterprises'].filter((e) => mine.has(String(e)));
  // Summary evidence names an enterprise in its label (spread: one entry per enterprise that raised the alert).
  const evidence = f.evidence.filter((ev) => ev.label !== undefined && mine.has(ev.label));
  return { ...f, data, evidence };
}
