/**
 * The detection `condition` grammar: selection names, `not` > `and` > `or`, parentheses, and
 * `1 of PATTERN` / `any of PATTERN` / `all of PATTERN` (PATTERN = a name, a `prefix*`, or `them`).
 * Parsed once at load time into a tree that compile.ts turns into nested predicates.
 */

export type ConditionNode =
  | { op: 'sel'; name: string }
  | { op: 'not'; arg: ConditionNode }
  | { op: 'and' | 'or'; args: ConditionNode[] };

export class ConditionError extends Error {}

const TOKEN = /\s*(\(|\)|[A-Za-z0-9_*.-]+)/y;

function tokenize(text: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    if (m === null) throw new ConditionError(`unexpected character "${text.slice(pos).trim().charAt(0)}"`);
    out.push(m[1] ?? '');
    pos = TOKEN.lastIndex;
  }
  return out;
}

/** Parses `text`; `names` are the selections defined (for patterns and unknown-name errors). */
export function parseCondition(text: string, names: readonly string[]): ConditionNode {
  const tokens = tokenize(text);
  if (tokens.length === 0) throw new ConditionError('empty condition');
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const lower = (t: string | undefined) => t?.toLowerCase();

  function expand(pattern: string): ConditionNode[] {
    let matched: readonly string[];
    if (pattern === 'them') matched = names;
    else if (pattern.endsWith('*')) {
      const prefix = pattern.slice(0, -1);
      matched = names.filter((n) => n.startsWith(prefix));
    } else matched = names.filter((n) => n === pattern);
    if (matched.length === 0) throw new ConditionError(`"${pattern}" matches no selection`);
    return matched.map((name) => ({ op: 'sel', name }));
  }

  function atom(): ConditionNode {
    const t = peek();
    if (t === undefined) throw new ConditionError('condition ends too early');
    if (t === '(') {
      i++;
      const e = or();
      if (peek() !== ')') throw new ConditionError('missing ")"');
      i++;
      return e;
    }
    if (t === ')') throw new ConditionError('unexpected ")"');
    const lt = lower(t);
    if ((lt === '1' || lt === 'any' || lt === 'all') && lower(tokens[i + 1]) === 'of') {
      i += 2;
      const pattern = peek();
      if (pattern === undefined || pattern === '(' || pattern === ')')
        throw new ConditionError(`"${t} of" needs a selection name, prefix* or "them"`);
      i++;
      const args = expand(pattern);
      return args.length === 1 ? (args[0] as ConditionNode) : { op: lt === 'all' ? 'and' : 'or', args };
    }
    if (lt === 'and' || lt === 'or' || lt === 'of') throw new ConditionError(`unexpected "${t}"`);
    if (t.includes('*')) throw new ConditionError(`"${t}": a pattern needs "1 of" or "all of"`);
    if (!names.includes(t)) throw new ConditionError(`unknown selection "${t}"`);
    i++;
    return { op: 'sel', name: t };
  }

  function not(): ConditionNode {
    if (lower(peek()) === 'not') {
      i++;
      return { op: 'not', arg: not() };
    }
    return atom();
  }

  function and(): ConditionNode {
    const args = [not()];
    while (lower(peek()) === 'and') {
      i++;
      args.push(not());
    }
    return args.length === 1 ? (args[0] as ConditionNode) : { op: 'and', args };
  }

  function or(): ConditionNode {
    const args = [and()];
    while (lower(peek()) === 'or') {
      i++;
      args.push(and());
    }
    return args.length === 1 ? (args[0] as ConditionNode) : { op: 'or', args };
  }

  const tree = or();
  if (i < tokens.length) throw new ConditionError(`unexpected "${tokens[i]}"`);
  return tree;
}

/** Selection names the condition uses. */
export function usedSelections(node: ConditionNode, into = new Set<string>()): Set<string> {
  if (node.op === 'sel') into.add(node.name);
  else if (node.op === 'not') usedSelections(node.arg, into);
  else for (const a of node.args) usedSelections(a, into);
  return into;
}
