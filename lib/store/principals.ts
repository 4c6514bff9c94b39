import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import { ALL_COLLECTIONS, ROLES, type Grant, type Role } from '../rights';
import { parseInput, StoreError } from './errors';
import { text } from './fields';
import type { Schema } from './schema';
import type { PrincipalsTable } from './tables/principals';
import { inTransaction } from './transaction';

/** A user or service account that calls the API, with its roles per collection (spec P7). */
export interface Principal {
  id: string;
  name: string;
  kind: 'user' | 'service';
  grants: Grant[];
  createdAt: Date;
  disabledAt: Date | null;
}

/** A token as listed: never its value, which only its issuer ever sees. */
export interface ApiTokenInfo {
  id: string;
  principal: string;
  label: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** Token prefix, so a leaked token is recognisable by secret scanners and people. */
export const TOKEN_PREFIX = 'amtf_';

const principalSchema = z.strictObject({
  name: text(1, 128).regex(/^[A-Za-z0-9._@-]+$/, 'must be letters, digits, ".", "_", "@" or "-"'),
  kind: z.enum(['user', 'service']).default('user'),
});
export type PrincipalInput = z.input<typeof principalSchema>;

const grantSchema = z.strictObject({
  collection: text(1, 128),
  role: z.enum(ROLES),
});

/** SHA-256 of a token in hex: what the database keeps. Tokens carry 256 random bits, so no slow hash is needed. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function notFound(name: string): StoreError {
  return new StoreError('PRINCIPAL_NOT_FOUND', `no principal named "${name}"`);
}

/** Principals, their roles and their hashed, revocable API tokens. */
export function principalRepository(db: Kysely<Schema>) {
  async function load(trx: Kysely<Schema>, row: Selectable<PrincipalsTable>): Promise<Principal> {
    const grants = await trx
      .selectFrom('principal_roles')
      .select(['collection', 'role'])
      .where('principal', '=', row.id)
      .orderBy('collection')
      .execute();
    return {
      id: String(row.id),
      name: row.name,
      kind: row.kind,
      grants: grants.map((g) => ({ collection: g.collection, role: g.role })),
      createdAt: row.created_at,
      disabledAt: row.disabled_at,
    };
  }

  async function find(trx: Kysely<Schema>, name: string): Promise<Selectable<PrincipalsTable>> {
    const row = await trx.selectFrom('principals').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw notFound(name);
    return row;
  }

  async function issue(
    trx: Kysely<Schema>,
    principalId: string,
    label: string,
  ): Promise<{ id: string; token: string }> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const row = await trx
      .insertInto('api_tokens')
      .values({ principal: principalId, label, sha256: tokenDigest(token) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: String(row.id), token };
  }

  return {
    /** Creates a principal; PRINCIPAL_EXISTS if the name is taken. */
    async create(input: PrincipalInput): Promise<Principal> {
      const p = parseInput(principalSchema, input, 'principal');
      return inTransaction(db, async (trx) => {
        const row = await trx
          .insertInto('principals')
          .values({ name: p.name, kind: p.kind })
          .onConflict((oc) => oc.column('name').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (!row) throw new StoreError('PRINCIPAL_EXISTS', `a principal named "${p.name}" exists already`);
        return load(trx, row);
      });
    },

    async get(name: string): Promise<Principal | undefined> {
      const row = await db.selectFrom('principals').selectAll().where('name', '=', name).executeTakeFirst();
      return row && load(db, row);
    },

    async require(name: string): Promise<Principal> {
      return load(db, await find(db, name));
    },

    async list(): Promise<Principal[]> {
      const rows = await db.selectFrom('principals').selectAll().orderBy('name').execute();
      return Promise.all(rows.map((row) => load(db, row)));
    },

    /** Gives `role` on `collection` (or `*`), replacing the principal's role there. */
    async grant(name: string, input: Grant): Promise<Principal> {
      const g = parseInput(grantSchema, input, 'role');
      return inTransaction(db, async (trx) => {
        const row = await find(trx, name);
        await trx
          .insertInto('principal_roles')
          .values({ principal: row.id, collection: g.collection, role: g.role })
          .onConflict((oc) =>
            oc.columns(['principal', 'collection']).doUpdateSet({ role: g.role, granted_at: sql<Date>`now()` }),
          )
          .execute();
        return load(trx, row);
      });
    },

    /** Takes the principal's role on `collection` away (nothing to take is no error). */
    async ungrant(name: string, collection: string): Promise<Principal> {
      return inTransaction(db, async (trx) => {
        const row = await find(trx, name);
        await trx
          .deleteFrom('principal_roles')
          .where('principal', '=', row.id)
          .where('collection', '=', collection)
          .execute();
        return load(trx, row);
      });
    },

    /** Roles on a collection that is deleted go with it. */
    async dropCollection(collection: string): Promise<void> {
      if (collection === ALL_COLLECTIONS) return;
      await db.deleteFrom('principal_roles').where('collection', '=', collection).execute();
    },

    /** Disables the principal: its tokens stop working at once. */
    async disable(name: string): Promise<Principal> {
      return inTransaction(db, async (trx) => {
        const row = await find(trx, name);
        const updated = await trx
          .updateTable('principals')
          .set({ disabled_at: row.disabled_at ?? new Date() })
          .where('id', '=', row.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        return load(trx, updated);
      });
    },

    /** A new random token for the principal. Its value is returned here once and stored only as a hash. */
    async issueToken(name: string, label = ''): Promise<{ id: string; token: string }> {
      const l = parseInput(text(0, 128), label, 'token label');
      return inTransaction(db, async (trx) => issue(trx, (await find(trx, name)).id, l));
    },

    async tokens(name?: string): Promise<ApiTokenInfo[]> {
      let query = db
        .selectFrom('api_tokens')
        .innerJoin('principals', 'principals.id', 'api_tokens.principal')
        .select([
          'api_tokens.id',
          'principals.name as principal',
          'api_tokens.label',
          'api_tokens.created_at',
          'api_tokens.revoked_at',
        ])
        .orderBy('api_tokens.id');
      if (name !== undefined) query = query.where('principals.name', '=', name);
      return (await query.execute()).map((r) => ({
        id: String(r.id),
        principal: r.principal,
        label: r.label,
        createdAt: r.created_at,
        revokedAt: r.revoked_at,
      }));
    },

    /** Revokes one token by its id; revoking it again changes nothing. TOKEN_NOT_FOUND if there is none. */
    async revokeToken(id: string): Promise<ApiTokenInfo> {
      if (!/^\d{1,18}$/.test(id)) throw new StoreError('TOKEN_NOT_FOUND', `no API token with id ${JSON.stringify(id)}`);
      await db
        .updateTable('api_tokens')
        .set({ revoked_at: new Date() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
      const [token] = (await this.tokens()).filter((t) => t.id === id);
      if (!token) throw new StoreError('TOKEN_NOT_FOUND', `no API token with id ${id}`);
      return token;
    },

    /** The enabled principal a token belongs to, if it is one of ours and not revoked. */
    async authenticate(token: string | undefined): Promise<(Principal & { tokenId: string }) | undefined> {
      if (!token?.startsWith(TOKEN_PREFIX) || token.length > 128) return undefined;
      const row = await db
        .selectFrom('api_tokens')
        .innerJoin('principals', 'principals.id', 'api_tokens.principal')
        .selectAll('principals')
        .select('api_tokens.id as tokenId')
        .where('api_tokens.sha256', '=', tokenDigest(token))
        .where('api_tokens.revoked_at', 'is', null)
        .where('principals.disabled_at', 'is', null)
        .executeTakeFirst();
      if (!row) return undefined;
      const { tokenId, ...principal } = row;
      return { ...(await load(db, principal)), tokenId: String(tokenId) };
    },

    /**
     * The first start: when no principal exists yet, creates `administrator` with the administrator
     * role on `*` and a token for it, returned once. Later calls return undefined. Two front doors
     * starting at once over one database create one administrator (the loser finds the name taken).
     */
    async bootstrapAdministrator(): Promise<{ principal: string; token: string } | undefined> {
      return inTransaction(db, async (trx) => {
        const any = await trx.selectFrom('principals').select('id').limit(1).executeTakeFirst();
        if (any) return undefined;
        const row = await trx
          .insertInto('principals')
          .values({ name: 'administrator', kind: 'user' })
          .onConflict((oc) => oc.column('name').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (!row) return undefined;
        await trx
          .insertInto('principal_roles')
          .values({ principal: row.id, collection: ALL_COLLECTIONS, role: 'administrator' })
          .execute();
        const { token } = await issue(trx, row.id, 'first start');
        return { principal: row.name, token };
      });
    },
  };
}

export type PrincipalRepository = ReturnType<typeof principalRepository>;
export type { Role };
