/**
 * Self-host bootstrap: `twinmcp accounts create|list` and `twinmcp keys create|list|revoke`.
 * These open the database directly: with DATABASE_URL any number of processes may; with the
 * embedded database only the lock holder may, so a running `twinmcp serve` is reported clearly.
 */
import { InvalidArgumentError, type Command } from 'commander';
import {
  AccountExistsError,
  createAccount,
  findAccount,
  listAccounts,
  type Account,
} from '../accounts/accounts.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../accounts/keys.js';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { MIGRATIONS } from '../db/schema.js';
import { acquireLock, generateAdminToken, readLock } from '../lock.js';
import type { CliIo } from './commands.js';

export type AccountsCommand =
  | { name: 'accounts-create'; email?: string; displayName?: string; plan?: string; admin: boolean }
  | { name: 'accounts-list' }
  | { name: 'keys-create'; account: string; keyName: string; admin: boolean }
  | { name: 'keys-list'; account: string }
  | { name: 'keys-revoke'; account: string; keyId: string };

const NAMES = new Set([
  'accounts-create',
  'accounts-list',
  'keys-create',
  'keys-list',
  'keys-revoke',
]);

/** True for the commands this module runs. */
export function isAccountsCommand(command: { name: string }): command is AccountsCommand {
  return NAMES.has(command.name);
}

/** Thrown for a bootstrap failure the user can fix; main prints the message, exit code 2. */
export class AccountsCliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountsCliError';
  }
}

/** Adds `accounts …` and `keys …` to the program; `set` receives the parsed command. */
export function registerAccountsCommands(
  program: Command,
  set: (c: AccountsCommand) => void,
): void {
  const accounts = program
    .command('accounts')
    .description('Manage accounts (when TWINMCP_AUTH=on)');
  accounts
    .command('create')
    .description('Create an account')
    .option('--email <email>', 'email address (optional for service accounts)', parseEmail)
    .option('--name <name>', 'display name')
    .option('--plan <plan>', 'plan name from the configuration (default: the default plan)')
    .option('--admin', 'operator account: may hold admin keys', false)
    .action((o: { email?: string; name?: string; plan?: string; admin: boolean }) =>
      set({
        name: 'accounts-create',
        admin: o.admin,
        ...(o.email !== undefined ? { email: o.email } : {}),
        ...(o.name !== undefined ? { displayName: o.name } : {}),
        ...(o.plan !== undefined ? { plan: o.plan } : {}),
      }),
    );
  accounts
    .command('list')
    .description('List accounts')
    .action(() => set({ name: 'accounts-list' }));

  const keys = program.command('keys').description('Manage API keys (tmcp_…)');
  keys
    .command('create')
    .description('Create an API key and print it once')
    .requiredOption('--account <id|email>', 'the account the key belongs to')
    .option('--name <name>', 'what the key is for', 'cli')
    .option('--admin', 'admin key: may call operator endpoints (admin accounts only)', false)
    .action((o: { account: string; name: string; admin: boolean }) =>
      set({ name: 'keys-create', account: o.account, keyName: o.name, admin: o.admin }),
    );
  keys
    .command('list')
    .description("List an account's keys (never the secrets)")
    .requiredOption('--account <id|email>', 'the account')
    .action((o: { account: string }) => set({ name: 'keys-list', account: o.account }));
  keys
    .command('revoke')
    .description('Revoke a key; requests with it get 401 from then on')
    .argument('<keyId>', 'the key id (key_…) from `twinmcp keys list`')
    .requiredOption('--account <id|email>', 'the account the key belongs to')
    .action((keyId: string, o: { account: string }) =>
      set({ name: 'keys-revoke', account: o.account, keyId }),
    );
  for (const group of [accounts, keys]) {
    for (const c of [group, ...group.commands]) c.exitOverride();
  }
}

function parseEmail(value: string): string {
  if (!/^[^\s@]+@[^\s@]+$/.test(value.trim()))
    throw new InvalidArgumentError('Expected an email address.');
  return value.trim();
}

/** Runs one accounts/keys command; resolves to the exit code. */
export async function runAccountsCommand(
  command: AccountsCommand,
  config: Config,
  io: CliIo,
): Promise<number> {
  // Checked before opening the database: a typo should not wait for a cold embedded start.
  const plans = config.accounts?.plans;
  if (
    command.name === 'accounts-create' &&
    command.plan !== undefined &&
    plans &&
    !plans[command.plan]
  ) {
    throw new AccountsCliError(
      `Unknown plan "${command.plan}"; plans: ${Object.keys(plans).join(', ')}.`,
    );
  }
  return withDatabase(config, async (db) => {
    switch (command.name) {
      case 'accounts-create':
        return createAccountCommand(db, config, command, io);
      case 'accounts-list': {
        const all = await listAccounts(db);
        if (all.length === 0)
          io.out(
            'No accounts. Create one with `twinmcp accounts create --email you@example.com`.\n',
          );
        for (const a of all) io.out(`${describe(a)}\n`);
        return 0;
      }
      case 'keys-create': {
        const account = await mustFind(db, command.account);
        if (command.admin && !account.isAdmin) {
          throw new AccountsCliError(
            `${command.account} is not an admin account; admin keys need one (accounts create --admin).`,
          );
        }
        const key = await createApiKey(db, account.id, {
          name: command.keyName,
          admin: command.admin,
        });
        io.out(`${key.key}\n`);
        io.err(
          `Created ${key.admin ? 'admin ' : ''}key ${key.id} ("${key.name}") for ${account.email ?? account.id}. ` +
            'This is the only time it is shown: store it now.\n',
        );
        return 0;
      }
      case 'keys-list': {
        const account = await mustFind(db, command.account);
        const keys = await listApiKeys(db, account.id);
        if (keys.length === 0) io.out(`No keys for ${command.account}.\n`);
        for (const k of keys) {
          const state = k.revokedAt
            ? `revoked ${k.revokedAt}`
            : `last used ${k.lastUsedAt ?? 'never'}`;
          io.out(
            `${k.id}  ${k.prefix}…  ${k.name}${k.admin ? '  (admin)' : ''}  created ${k.createdAt}  ${state}\n`,
          );
        }
        return 0;
      }
      case 'keys-revoke': {
        const account = await mustFind(db, command.account);
        if (!(await revokeApiKey(db, account.id, command.keyId))) {
          io.err(
            `error: no active key ${command.keyId} on ${command.account} (see \`twinmcp keys list\`)\n`,
          );
          return 3;
        }
        io.out(`Revoked ${command.keyId}\n`);
        return 0;
      }
    }
  });
}

async function createAccountCommand(
  db: Db,
  config: Config,
  c: Extract<AccountsCommand, { name: 'accounts-create' }>,
  io: CliIo,
): Promise<number> {
  const plan = c.plan ?? config.accounts?.defaultPlan ?? 'free';
  try {
    const account = await createAccount(db, {
      email: c.email ?? null,
      plan,
      isAdmin: c.admin,
      ...(c.displayName !== undefined ? { name: c.displayName } : {}),
    });
    io.out(`${account.id}\n`);
    io.err(
      `Created ${describe(account)}. Next: twinmcp keys create --account ${account.email ?? account.id}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof AccountExistsError) throw new AccountsCliError(err.message);
    throw err;
  }
}

function describe(a: Account): string {
  return `${a.id}  ${a.email ?? '(no email)'}  ${a.name ? `"${a.name}"  ` : ''}plan ${a.plan}${a.isAdmin ? '  admin' : ''}`;
}

async function mustFind(db: Db, idOrEmail: string): Promise<Account> {
  const account = await findAccount(db, idOrEmail);
  if (!account) {
    throw new AccountsCliError(
      `No account ${idOrEmail}. Create it with \`twinmcp accounts create --email <email>\`.`,
    );
  }
  return account;
}

async function withDatabase(config: Config, fn: (db: Db) => Promise<number>): Promise<number> {
  if (config.databaseUrl) {
    const db = await openDatabase({ databaseUrl: config.databaseUrl });
    try {
      await migrate(db, MIGRATIONS);
      return await fn(db);
    } finally {
      await db.close();
    }
  }
  const owner = await readLock(config.lockFile);
  if (owner) {
    throw new AccountsCliError(
      `The embedded database in ${config.dataDir} is open in process ${owner.pid} (twinmcp ${owner.command ?? 'serve'}). ` +
        'Stop that server to manage accounts and keys, then start it again; or use a PostgreSQL ' +
        'server (DATABASE_URL), which every process can share.',
    );
  }
  const lock = await acquireLock(config.lockFile, {
    pid: process.pid,
    adminToken: generateAdminToken(),
    dataDir: config.dataDir,
    command: 'keys',
  });
  try {
    const db = await openDatabase({ dataDir: config.dataDir });
    try {
      await migrate(db, MIGRATIONS);
      return await fn(db);
    } finally {
      await db.close();
    }
  } finally {
    await lock.release();
  }
}
