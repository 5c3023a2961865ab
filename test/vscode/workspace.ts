/**
 * A workspace for the hover test: package.json + package-lock.json (lockfile v3) locking zod
 * 3.23.8, and a TypeScript file importing from it. The server holds zod v3 and v4 (v4 latest),
 * so only a version-aware hover shows the v3 docs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCKED_ZOD = '3.23.8';

export interface HoverWorkspace {
  folder: string;
  file: string;
  /** Zero-based position of `object` in `z.object(`. */
  position: { line: number; character: number };
}

const SOURCE = `import { z } from 'zod';

export const User = z.object({ name: z.string().min(1), email: z.string().email() });
export type User = z.infer<typeof User>;
`;

export function makeHoverWorkspace(folder: string): HoverWorkspace {
  mkdirSync(join(folder, 'src'), { recursive: true });
  const pkg = {
    name: 'hover-fixture',
    version: '1.0.0',
    private: true,
    dependencies: { zod: '^3.22.0' },
  };
  writeFileSync(join(folder, 'package.json'), JSON.stringify(pkg, null, 2));
  const lock = {
    name: 'hover-fixture',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'hover-fixture', version: '1.0.0', dependencies: { zod: '^3.22.0' } },
      'node_modules/zod': {
        version: LOCKED_ZOD,
        resolved: `https://registry.example.invalid/zod/-/zod-${LOCKED_ZOD}.tgz`,
        license: 'MIT',
      },
    },
  };
  writeFileSync(join(folder, 'package-lock.json'), JSON.stringify(lock, null, 2));
  const file = join(folder, 'src', 'user.ts');
  writeFileSync(file, SOURCE);
  const line = 2;
  const character = SOURCE.split('\n')[line]!.indexOf('object') + 2;
  return { folder, file, position: { line, character } };
}
