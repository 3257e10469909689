/**
 * The mailbox inclusion rule expression (R:mailboxprotectionrule):
 *
 *   expression := "(" "memberOf" "-any" "(" "group.id" "-in" "[" guid ("," guid)* "]" ")" ")"
 *   guid       := "'" 8-4-4-4-12 hex "'"
 *
 * Keywords and operators are matched case-insensitively, as PowerShell-style filters are; blanks
 * between tokens are free. A tokenizer and a recursive-descent parser: the grammar is too small to
 * be worth a parser generator.
 */
export type ParsedExpression = { ok: true; groupIds: string[] } | { ok: false; message: string };

type Token = { kind: 'punct' | 'word' | 'operator' | 'string'; text: string; at: number };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class SyntaxError extends Error {}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if ('()[],'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, at: i });
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new SyntaxError(`unterminated string at position ${i}`);
      tokens.push({ kind: 'string', text: text.slice(i + 1, end), at: i });
      i = end + 1;
    } else if (c === '-') {
      const m = /^-[A-Za-z]+/.exec(text.slice(i));
      if (!m) throw new SyntaxError(`expected an operator at position ${i}`);
      tokens.push({ kind: 'operator', text: m[0].toLowerCase(), at: i });
      i += m[0].length;
    } else {
      const m = /^[A-Za-z][A-Za-z0-9.]*/.exec(text.slice(i));
      if (!m) throw new SyntaxError(`unexpected character '${c}' at position ${i}`);
      tokens.push({ kind: 'word', text: m[0].toLowerCase(), at: i });
      i += m[0].length;
    }
  }
  return tokens;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private expect(kind: Token['kind'], text: string, shown = text): void {
    const t = this.tokens[this.i];
    if (!t || t.kind !== kind || t.text !== text) {
      throw new SyntaxError(`expected '${shown}' ${t ? `at position ${t.at}` : 'at the end'}`);
    }
    this.i++;
  }

  private groupId(): string {
    const t = this.tokens[this.i];
    if (!t || t.kind !== 'string') throw new SyntaxError(`expected a quoted group id ${t ? `at position ${t.at}` : 'at the end'}`);
    if (!GUID.test(t.text)) throw new SyntaxError(`'${t.text}' is not a group id (a GUID)`);
    this.i++;
    return t.text.toLowerCase();
  }

  expression(): string[] {
    this.expect('punct', '(');
    this.expect('word', 'memberof', 'memberOf');
    this.expect('operator', '-any');
    this.expect('punct', '(');
    this.expect('word', 'group.id');
    this.expect('operator', '-in');
    this.expect('punct', '[');
    const ids = [this.groupId()];
    while (this.tokens[this.i]?.kind === 'punct' && this.tokens[this.i].text === ',') {
      this.i++;
      ids.push(this.groupId());
    }
    this.expect('punct', ']');
    this.expect('punct', ')');
    this.expect('punct', ')');
    const rest = this.tokens[this.i];
    if (rest) throw new SyntaxError(`unexpected '${rest.text}' at position ${rest.at}`);
    return [...new Set(ids)];
  }
}

export function parseMailboxExpression(text: string): ParsedExpression {
  try {
    return { ok: true, groupIds: new Parser(tokenize(text)).expression() };
  } catch (error) {
    if (error instanceof SyntaxError) return { ok: false, message: error.message };
    throw error;
  }
}
