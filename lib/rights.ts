/**
 * Security rights per collection (spec P7): **View management controllers** (inventory, discovery,
 * power control), **Manage management controllers** (lifecycle actions, decisions, sessions) and
 * **administrator** (configuration, profiles, principals, keys). A role is held on one collection or
 * on `*` — every collection, the devices in none, and the site itself. Each role includes the ones
 * below it. Pure rules; the store keeps the grants (lib/store/principals.ts), the API applies them
 * (api/authorize.ts).
 */

export const ROLES = ['view', 'manage', 'administrator'] as const;
export type Role = (typeof ROLES)[number];
/** What a route or command needs: one of the roles' names. */
export type Right = Role;

/** Configuration Manager's names of the rights, for messages and documents. */
export const RIGHT_TITLES: Record<Right, string> = {
  view: 'View management controllers',
  manage: 'Manage management controllers',
  administrator: 'administrator',
};

/** The scope of a grant that covers every collection, the devices in none, and the site. */
export const ALL_COLLECTIONS = '*';

export interface Grant {
  /** A collection's name, or ALL_COLLECTIONS. */
  collection: string;
  role: Role;
}

const rank = (role: Role): number => ROLES.indexOf(role);

/** Whether `role` includes `right` (administrator ⊇ manage ⊇ view). */
export function roleIncludes(role: Role, right: Right): boolean {
  return rank(role) >= rank(right);
}

/**
 * Whether the grants give `right` on `collection`: a device's collection, `null` for a device in no
 * collection (only a `*` grant reaches it), or ALL_COLLECTIONS for site-wide things.
 */
export function holds(grants: readonly Grant[], right: Right, collection: string | null): boolean {
  return grants.some(
    (g) =>
      roleIncludes(g.role, right) &&
      (g.collection === ALL_COLLECTIONS ||
        (collection !== null && collection !== ALL_COLLECTIONS && g.collection === collection)),
  );
}

/**
 * The collections on which the grants give `right`: `'all'` with a `*` grant (devices in no
 * collection included), else the named ones (possibly none). For filtering lists and reports.
 */
export function collectionsWith(grants: readonly Grant[], right: Right): 'all' | string[] {
  const covering = grants.filter((g) => roleIncludes(g.role, right));
  if (covering.some((g) => g.collection === ALL_COLLECTIONS)) return 'all';
  return [...new Set(covering.map((g) => g.collection))].sort();
}
