import { openPglite } from '../server/db/pglite.js';
import { queryLexemes } from '../server/search/query.js';
import { LexicalIndex } from '../server/search/lexical-index.js';
const db = await openPglite({ dataDir: '/work/main/.cache/eval/8bd21fa70181dd9f-nd/pgdata' });
const [q, lib, file, title] = process.argv.slice(2) as [string, string, string, string];
const lex = await queryLexemes(db, q);
console.log([...lex]);
const rows = await db.query<any>(`select c.id, c.version_id, c.title, c.tokens, c.tsv::text as tsv, c.content from chunks c join pages p on p.id=c.page_id join library_versions v on v.id = c.version_id where v.library_id=$1 and p.path=$2 and c.title ilike $3`, [lib, file, `%${title}%`]);
for (const row of rows) {
  console.log('TARGET', row.id, row.title, row.tokens, '\n', row.tsv.slice(0, 600), '\n---\n', row.content.slice(0, 400));
  const idx = await LexicalIndex.load(db, row.version_id);
  const res = idx.search(lex, 5000);
  const pos = res.findIndex((r) => r.chunkId === Number(row.id));
  console.log('rank', pos, res[pos]);
  const top = await db.query<any>('select id, title, tokens from chunks where id = any($1)', [res.slice(0, 5).map((r) => r.chunkId)]);
  res.slice(0, 5).forEach((r) => { const t = top.find((x: any) => Number(x.id) === r.chunkId); console.log('  ', r.score.toFixed(2), r.coverage.toFixed(2), r.titleCoverage.toFixed(2), t?.title, t?.tokens); });
  for (const l of lex.keys()) console.log('   df', l, idx.documentFrequency(l), '/', idx.documentCount);
}
await db.close();
