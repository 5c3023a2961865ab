/** PostgreSQL's tsvector text form, as `tsv::text` returns it. */

/** Weight classes: A title, B breadcrumb, C code identifiers, D body. */
export type WeightClass = 'A' | 'B' | 'C' | 'D';

/** Parses PostgreSQL's tsvector text form: `'app.get':3 'hook':1A,5 'it''s':2B`. */
export function* parseTsvector(text: string): Generator<[string, WeightClass[], number[]]> {
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ') i++;
    if (text[i] !== "'") break;
    i++;
    let lexeme = '';
    for (;;) {
      const ch = text[i];
      if (ch === undefined) return;
      if (ch === "'") {
        if (text[i + 1] === "'") {
          lexeme += "'";
          i += 2;
          continue;
        }
        i++;
        break;
      }
      if (ch === '\\') {
        lexeme += text[i + 1] ?? '';
        i += 2;
        continue;
      }
      lexeme += ch;
      i++;
    }
    const classes: WeightClass[] = [];
    const positions: number[] = [];
    if (text[i] === ':') {
      i++;
      while (i < text.length && text[i] !== ' ') {
        let j = i;
        while (j < text.length && text[j]! >= '0' && text[j]! <= '9') j++;
        positions.push(Number(text.slice(i, j)));
        const w = text[j];
        if (w === 'A' || w === 'B' || w === 'C') {
          classes.push(w);
          j++;
        } else classes.push('D');
        i = text[j] === ',' ? j + 1 : j;
      }
    } else classes.push('D');
    yield [lexeme, classes, positions];
  }
}
