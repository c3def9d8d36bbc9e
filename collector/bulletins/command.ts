/**
 * `otcollector bulletin`: generates a bulletin from the store into a directory.
 *
 *   otcollector bulletin --period daily|weekly|monthly|custom [--from D] [--to D] --province P
 *       [--city C | --industry I | --enterprise E] [--lang zh-CN|en] [--format html,md,pdf,json] [--drill]
 *       --out DIR --store URL
 */
import { parseArgs } from 'node:util';
import { CommandUsageError } from '../packs/state.ts';
import { openStore } from '../store/open.ts';
import { type BulletinAudience, buildBulletin, LANGS, type Lang } from './build.ts';
import { BULLETIN_FORMATS, type BulletinFormat, writeBulletinFiles } from './files.ts';
import { pdfSupport } from './pdf.ts';
import { PERIOD_KINDS, PeriodError, type PeriodKind, resolvePeriod } from './period.ts';

export const BULLETIN_USAGE = `  otcollector bulletin --period daily|weekly|monthly|custom [--from DATE] [--to DATE] --province P
      [--city C | --industry I | --enterprise E] [--lang zh-CN|en] [--format html,md,pdf,json] [--drill] [--top N]
      --out DIR --store URL     bulletin (通报) for the last complete period, or the one containing --from
      (custom: --from and --to); every figure names the query that reproduces it (docs/bulletins.md)
`;

export async function bulletinCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      period: { type: 'string', default: 'weekly' },
      from: { type: 'string' },
      to: { type: 'string' },
      province: { type: 'string' },
      city: { type: 'string' },
      industry: { type: 'string' },
      enterprise: { type: 'string' },
      lang: { type: 'string', default: 'zh-CN' },
      format: { type: 'string', default: 'html,md,json' },
      drill: { type: 'boolean', default: false },
      top: { type: 'string' },
      out: { type: 'string' },
      store: { type: 'string' },
    },
  });
  const kind = values.period as PeriodKind;
  if (!PERIOD_KINDS.includes(kind)) throw new CommandUsageError(`bulletin: --period ${PERIOD_KINDS.join('|')}`);
  if (!values.province) throw new CommandUsageError('bulletin: --province P is required');
  if (!values.out) throw new CommandUsageError('bulletin: --out DIR is required');
  if (!values.store) throw new CommandUsageError('bulletin: --store URL is required');
  const lang = values.lang as Lang;
  if (!LANGS.includes(lang)) throw new CommandUsageError('bulletin: --lang zh-CN|en');
  const formats = values.format.split(',').map((f) => f.trim()) as BulletinFormat[];
  for (const f of formats) {
    if (!BULLETIN_FORMATS.includes(f)) throw new CommandUsageError(`bulletin: unknown format ${f} (html,md,pdf,json)`);
  }
  const narrowing = [values.city, values.industry, values.enterprise].filter((x) => x !== undefined);
  if (narrowing.length > 1)
    throw new CommandUsageError('bulletin: give at most one of --city, --industry, --enterprise');
  const top = values.top === undefined ? undefined : Number(values.top);
  if (top !== undefined && !(Number.isInteger(top) && top > 0 && top <= 100)) {
    throw new CommandUsageError('bulletin: --top 1..100');
  }
  let period: ReturnType<typeof resolvePeriod>;
  try {
    period = resolvePeriod(kind, {
      ...(values.from !== undefined ? { from: values.from } : {}),
      ...(values.to !== undefined ? { to: values.to } : {}),
    });
  } catch (err) {
    if (err instanceof PeriodError) throw new CommandUsageError(`bulletin: ${err.message}`);
    throw err;
  }
  if (formats.includes('pdf')) {
    const support = pdfSupport();
    if (!support.chromium) throw new Error('PDF needs Chromium (set OTWATCH_CHROMIUM or install chromium)');
    if (!support.cjkFont && lang === 'zh-CN') {
      process.stderr.write(
        'otcollector: warning: no CJK font installed (fonts-noto-cjk): Chinese will not render in the PDF\n',
      );
    }
  }
  const audience: BulletinAudience = {
    province: values.province,
    ...(values.city !== undefined ? { city: values.city } : {}),
    ...(values.industry !== undefined ? { industry: values.industry } : {}),
    ...(values.enterprise !== undefined ? { enterprise: values.enterprise } : {}),
  };
  const store = await openStore(values.store);
  try {
    await store.migrate();
    const data = await buildBulletin(store, {
      audience,
      period,
      lang,
      drill: values.drill,
      ...(top !== undefined ? { top } : {}),
    });
    const files = await writeBulletinFiles(data, values.out, formats);
    process.stdout.write(`${JSON.stringify({ id: data.id, period: data.period, files })}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
