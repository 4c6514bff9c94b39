import { Attribute, Change, escapeFilter, type Entry } from 'ldapts';
import type { DirectoryConfig } from '../config';
import { DirectoryError } from './errors';
import { LDAP, LdapSession, binaryValue, ldapCodeOf, value, values } from './connection';
import { childDn, isWithinDn, sameDn, splitDn } from './dn';
import { discoverForest, findDomain, ownDomain, placeComputer, type Forest, type ForestDomain } from './forest';
import {
  ALL_ENCRYPTION_TYPES,
  encryptionTypesFromValue,
  supportedEncryptionTypesValue,
  type KerberosEncryptionType,
} from './kerberos';
import { amtAccountName, amtSpns, parseDomainName, parseHostName, windowsComputerAccountName } from './names';
import { sidToString } from './sid';

/** A computer to provision, as imported (OOB2) or discovered (IB9). */
export interface AmtDevice {
  /** The computer's FQDN, which AMT also uses. */
  fqdn: string;
  /** Its domain: DNS name, NetBIOS name, a workgroup name, or absent. */
  domain?: string;
  /** DN of its Windows computer object when known; otherwise it is looked up by host name. */
  computerDn?: string;
}

/** A device that passed the P4 checks: its domain, and its Windows computer object if there is one. */
export interface CheckedDevice {
  fqdn: string;
  host: string;
  domain: ForestDomain;
  computerDn?: string;
}

export interface AmtAccount {
  dn: string;
  samAccountName: string;
  fqdn: string;
  /** DNS name of the account's domain. */
  domain: string;
  /** Kerberos realm of that domain (AMT's RealmName). */
  realm: string;
  /** The Windows computer object the account is linked to (`managedBy`). */
  computerDn?: string;
  spns: string[];
  /** msDS-KeyVersionNumber: AMT's KeyVersion for the current password. */
  keyVersionNumber: number;
  encryptionTypes: KerberosEncryptionType[];
}

export interface DirectoryPrincipal {
  /** The name as it was asked for. */
  name: string;
  dn: string;
  samAccountName: string;
  kind: 'user' | 'group' | 'computer';
  /** S-1-5-21-... */
  sid: string;
  /** The binary SID, base64: what AMT's KerberosUserSid takes. */
  sidBase64: string;
}

const ACCOUNT_ATTRIBUTES = [
  'sAMAccountName',
  'managedBy',
  'servicePrincipalName',
  'msDS-KeyVersionNumber',
  'msDS-SupportedEncryptionTypes',
  'description',
];

/** userAccountControl bits (MS-ADTS 2.2.16): a computer account, and "no password required". */
const WORKSTATION_TRUST_ACCOUNT = 0x1000;
const PASSWD_NOTREQD = 0x20;

const lower = (list: string[]) => list.map((s) => s.toLowerCase());

/**
 * amtflow's view of Active Directory, over one bound LDAP session (open it per activity, close it
 * after). Every write is idempotent: it first reads what is there and changes only what differs, so a
 * retried activity finds its earlier effect. Every check that can refuse a request runs before the
 * first write.
 */
export class ActiveDirectory {
  private forestPromise?: Promise<Forest>;

  private constructor(
    private readonly session: LdapSession,
    private readonly config: DirectoryConfig,
  ) {}

  static async open(config: DirectoryConfig): Promise<ActiveDirectory> {
    return new ActiveDirectory(await LdapSession.open(config), config);
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  /** The forest's domains and trees, read once per session. */
  forest(): Promise<Forest> {
    this.forestPromise ??= discoverForest(this.session);
    return this.forestPromise;
  }

  private containerDn(domain: ForestDomain): string {
    return `${this.config.amtContainer},${domain.dn}`;
  }

  private requireHosted(domain: ForestDomain): void {
    if (!domain.hosted) {
      throw new DirectoryError(
        'DOMAIN_NOT_SERVED',
        `${domain.dnsName} is a domain of the forest, but the domain controller at directory.url does not hold it; ` +
          'point amtflow at a domain controller of that domain',
        { domain: domain.dnsName },
      );
    }
  }

  /**
   * Spec P4 and the facts publishing needs, read from the directory before anything is written:
   * the device's domain (workgroup, other forest, other namespace are refused) and its Windows
   * computer object. Throws the typed error; changes nothing.
   */
  async checkPrerequisites(device: AmtDevice): Promise<CheckedDevice> {
    const host = parseHostName(device.fqdn);
    const forest = await this.forest();
    const domain = placeComputer(forest, ownDomain(forest, this.config.domain), host, device.domain);
    this.requireHosted(domain);
    const computerDn = await this.findWindowsComputer(domain, host.fqdn, host.host, device.computerDn);
    return { fqdn: host.fqdn, host: host.host, domain, ...(computerDn ? { computerDn } : {}) };
  }

  private async findWindowsComputer(
    domain: ForestDomain,
    fqdn: string,
    host: string,
    given: string | undefined,
  ): Promise<string | undefined> {
    if (given !== undefined) {
      const entry = isWithinDn(given, domain.dn) ? await this.session.read(given, ['objectClass']) : undefined;
      if (!entry || !lower(values(entry, 'objectClass')).includes('computer')) {
        throw new DirectoryError(
          'COMPUTER_NOT_FOUND',
          `the Windows computer object ${given} does not exist in ${domain.dnsName}; correct the computer's record`,
          { computerDn: given, domain: domain.dnsName },
        );
      }
      return entry.dn;
    }
    // A computer that has no object yet (bare metal, imported for out-of-band provisioning) is fine:
    // its AMT account is published without a link.
    // Found by indexed attributes only: dNSHostName is not indexed in Active Directory (searchFlags 0,
    // MS-ADA1 2.185) nor in Samba, so a filter on it reads every computer object of the domain, the
    // AMT accounts included — 65 ms of the DC's time per search at 10,000 devices, growing with the
    // fleet, against 1 ms this way (docs/benchmarks.md, "10,000 devices"). A joined computer holds
    // HOST/<its DNS name>: the join writes it with dNSHostName, and so does every rename.
    const hostSpn = `HOST/${fqdn}`;
    const candidates = (
      await this.session.search(domain.dn, {
        scope: 'sub',
        filter: escapeFilter`(&(objectClass=computer)(|(servicePrincipalName=${hostSpn})(sAMAccountName=${windowsComputerAccountName(host)})))`,
        attributes: ['dNSHostName'],
      })
    ).filter((entry) => !isWithinDn(entry.dn, this.containerDn(domain)));
    // An object holding HOST/<fqdn> under another dNSHostName has it as an alternate name, or a stale
    // SPN: not this computer.
    const byName = candidates.find((entry) => value(entry, 'dNSHostName')?.toLowerCase() === fqdn);
    // A pre-staged object has no dNSHostName yet; its NetBIOS account name identifies it.
    return (byName ?? candidates.find((entry) => value(entry, 'dNSHostName') === undefined))?.dn;
  }

  private toAccount(entry: Entry, fqdn: string, domain: ForestDomain): AmtAccount {
    const managedBy = value(entry, 'managedBy');
    const encryption = value(entry, 'msDS-SupportedEncryptionTypes');
    return {
      dn: entry.dn,
      samAccountName: value(entry, 'sAMAccountName') ?? '',
      fqdn,
      domain: domain.dnsName,
      realm: domain.dnsName.toUpperCase(),
      ...(managedBy ? { computerDn: managedBy } : {}),
      spns: values(entry, 'servicePrincipalName'),
      keyVersionNumber: Number(value(entry, 'msDS-KeyVersionNumber') ?? 0),
      encryptionTypes: encryption === undefined ? [] : encryptionTypesFromValue(Number(encryption)),
    };
  }

  /**
   * The AMT account of a host, found by its derived account name in every domain this DC holds, so
   * removal works after the computer moved to another domain (REN2). An object with that name
   * outside the AMT container is not amtflow's: ACCOUNT_CONFLICT.
   */
  async findAmtAccount(fqdn: string): Promise<AmtAccount | undefined> {
    const host = parseHostName(fqdn);
    const samAccountName = amtAccountName(host.fqdn);
    for (const domain of (await this.forest()).domains.filter((d) => d.hosted)) {
      const [entry] = await this.session.search(domain.dn, {
        scope: 'sub',
        filter: escapeFilter`(&(objectClass=computer)(sAMAccountName=${samAccountName}))`,
        attributes: ACCOUNT_ATTRIBUTES,
      });
      if (!entry) continue;
      if (!isWithinDn(entry.dn, this.containerDn(domain))) {
        throw new DirectoryError(
          'ACCOUNT_CONFLICT',
          `${entry.dn} holds the AMT account name ${samAccountName} of ${host.fqdn} outside ${this.containerDn(domain)}; ` +
            'move it back into the AMT container or delete it',
          { dn: entry.dn, samAccountName },
        );
      }
      return this.toAccount(entry, host.fqdn, domain);
    }
    return undefined;
  }

  private async requireAmtAccount(fqdn: string): Promise<AmtAccount> {
    const account = await this.findAmtAccount(fqdn);
    if (!account) {
      throw new DirectoryError(
        'ACCOUNT_NOT_FOUND',
        `${fqdn} has no AMT account in the directory; publish it first (spec I3)`,
        {
          fqdn,
        },
      );
    }
    return account;
  }

  /**
   * Spec I3: the device's AMT account — a computer object named after the host in the AMT container
   * of its domain (P3), linked to the Windows computer object by `managedBy`. Publishing again
   * returns the same object, brought up to date.
   */
  async publishAmtAccount(
    device: AmtDevice,
    options: { encryptionTypes?: readonly KerberosEncryptionType[] } = {},
  ): Promise<AmtAccount & { created: boolean }> {
    const checked = await this.checkPrerequisites(device);
    const container = this.containerDn(checked.domain);
    if (!(await this.session.read(container, ['1.1']))) {
      throw new DirectoryError(
        'CONTAINER_MISSING',
        `the AMT container ${container} does not exist in ${checked.domain.dnsName}; create ${this.config.amtContainer} ` +
          'in every domain (spec P3)',
        { container },
      );
    }
    const dn = childDn('CN', checked.host, container);
    const samAccountName = amtAccountName(checked.fqdn);
    const wanted: Record<string, string> = {
      description: `Intel AMT account of ${checked.fqdn} (amtflow)`,
      'msDS-SupportedEncryptionTypes': String(
        supportedEncryptionTypesValue(options.encryptionTypes ?? ALL_ENCRYPTION_TYPES),
      ),
      ...(checked.computerDn ? { managedBy: checked.computerDn } : {}),
    };

    const existing = await this.findAmtAccount(checked.fqdn);
    if (existing && !sameDn(existing.dn, dn)) {
      throw new DirectoryError(
        'ACCOUNT_CONFLICT',
        `${checked.fqdn} already has an AMT account at ${existing.dn}; remove its provisioning first (spec REN1)`,
        { dn: existing.dn },
      );
    }
    if (!existing) {
      const occupant = await this.session.read(dn, ['sAMAccountName']);
      if (occupant) {
        throw new DirectoryError(
          'ACCOUNT_CONFLICT',
          `${dn} exists but is not the AMT account of ${checked.fqdn} (its account name is ` +
            `${value(occupant, 'sAMAccountName') ?? 'unset'}); delete or rename it`,
          { dn },
        );
      }
      try {
        await this.session.add(dn, {
          objectClass: 'computer',
          cn: checked.host,
          sAMAccountName: samAccountName,
          // Created without a password, like a pre-staged computer; setAmtAccountPassword clears the flag.
          userAccountControl: String(WORKSTATION_TRUST_ACCOUNT | PASSWD_NOTREQD),
          ...wanted,
        });
        return { ...(await this.requireAmtAccount(checked.fqdn)), created: true };
      } catch (err) {
        // A concurrent attempt created it first: fall through and reconcile what it wrote.
        if (ldapCodeOf(err) !== LDAP.entryAlreadyExists) throw err;
      }
    }
    const account = existing ?? (await this.requireAmtAccount(checked.fqdn));
    // Without a Windows computer object found now, an existing link stays: Active Directory itself
    // drops a managedBy link when its target is deleted.
    const current = (await this.session.read(account.dn, Object.keys(wanted))) ?? { dn: account.dn };
    const changes = Object.entries(wanted)
      .filter(([name, v]) => {
        const have = value(current, name);
        return have === undefined || (name === 'managedBy' ? !sameDn(have, v) : have !== v);
      })
      .map(([type, v]) => new Change({ operation: 'replace', modification: new Attribute({ type, values: [v] }) }));
    if (changes.length > 0) await this.session.modify(account.dn, changes, 'update');
    return { ...(await this.requireAmtAccount(checked.fqdn)), created: false };
  }

  /**
   * Sets the AMT account's password (its Kerberos keys) and returns the account with the key
   * version number the directory assigned. The password travels only inside the TLS session.
   */
  async setAmtAccountPassword(fqdn: string, password: string): Promise<AmtAccount> {
    if (!this.session.encrypted) {
      throw new DirectoryError(
        'DIRECTORY_INSECURE',
        'passwords are set only over LDAPS or StartTLS; directory.url is plain LDAP',
      );
    }
    const account = await this.requireAmtAccount(fqdn);
    const flags = await this.session.read(account.dn, ['userAccountControl']);
    const control = Number((flags && value(flags, 'userAccountControl')) ?? 0);
    const changes = [
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${password}"`, 'utf16le')] }),
      }),
    ];
    if (control & PASSWD_NOTREQD) {
      // In the same operation: the account stops accepting an empty password as it gets one.
      changes.push(
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userAccountControl', values: [String(control & ~PASSWD_NOTREQD)] }),
        }),
      );
    }
    try {
      await this.session.modify(account.dn, changes, 'set the password of');
    } catch (err) {
      const code = ldapCodeOf(err);
      if (code === LDAP.constraintViolation || code === LDAP.unwillingToPerform) {
        throw new DirectoryError(
          'PASSWORD_REJECTED',
          `the directory refused the new password of ${account.dn} (password policy: length, complexity or history)`,
          { dn: account.dn },
          { cause: err },
        );
      }
      throw err;
    }
    return this.requireAmtAccount(fqdn);
  }

  /** Objects other than `except` that hold any of `spns`, searched in every domain this DC holds. */
  private async spnHolders(spns: string[], except: string): Promise<{ dn: string; spns: string[] }[]> {
    const wanted = new Set(lower(spns));
    const filter = `(|${spns.map((spn) => escapeFilter`(servicePrincipalName=${spn})`).join('')})`;
    const holders: { dn: string; spns: string[] }[] = [];
    for (const domain of (await this.forest()).domains.filter((d) => d.hosted)) {
      for (const entry of await this.session.search(domain.dn, {
        scope: 'sub',
        filter,
        attributes: ['servicePrincipalName'],
      })) {
        if (sameDn(entry.dn, except)) continue;
        holders.push({
          dn: entry.dn,
          spns: values(entry, 'servicePrincipalName').filter((spn) => wanted.has(spn.toLowerCase())),
        });
      }
    }
    return holders;
  }

  private async spnConflict(spns: string[], account: AmtAccount): Promise<DirectoryError | undefined> {
    const [holder, ...others] = await this.spnHolders(spns, account.dn);
    if (!holder) return undefined;
    return new DirectoryError(
      'SPN_CONFLICT',
      `${holder.spns.join(', ')} ${holder.spns.length > 1 ? 'are' : 'is'} already registered on ${holder.dn}; ` +
        `Kerberos needs each SPN on one account only. Remove ${holder.spns.length > 1 ? 'them' : 'it'} there ` +
        `(setspn -D), then register the SPNs of ${account.fqdn} again`,
      { spn: holder.spns[0] ?? '', holder: holder.dn, holders: [holder, ...others].map((h) => h.dn) },
    );
  }

  /**
   * Spec I4 (and UPD2's re-registration): adds the AMT SPNs the account lacks. If another object
   * holds one of them, nothing is written and SPN_CONFLICT names that object.
   */
  async registerSpns(fqdn: string): Promise<AmtAccount> {
    const account = await this.requireAmtAccount(fqdn);
    const spns = amtSpns(account.fqdn);
    const conflict = await this.spnConflict(spns, account);
    if (conflict) throw conflict;
    const registered = new Set(lower(account.spns));
    const missing = spns.filter((spn) => !registered.has(spn.toLowerCase()));
    if (missing.length === 0) return account;
    try {
      await this.session.modify(
        account.dn,
        [
          new Change({
            operation: 'add',
            modification: new Attribute({ type: 'servicePrincipalName', values: missing }),
          }),
        ],
        'register SPNs on',
      );
    } catch (err) {
      // Another writer registered one of them between the check and the write; the DC refused it.
      if (ldapCodeOf(err) === LDAP.constraintViolation) throw (await this.spnConflict(spns, account)) ?? err;
      throw err;
    }
    return this.requireAmtAccount(fqdn);
  }

  /** Spec DEP2: removes the AMT SPNs from the account; returns those removed (none if already gone). */
  async removeSpns(fqdn: string): Promise<string[]> {
    const account = await this.findAmtAccount(fqdn);
    if (!account) return [];
    const ours = new Set(lower(amtSpns(account.fqdn)));
    const present = account.spns.filter((spn) => ours.has(spn.toLowerCase()));
    if (present.length === 0) return [];
    await this.session.modify(
      account.dn,
      [
        new Change({
          operation: 'delete',
          modification: new Attribute({ type: 'servicePrincipalName', values: present }),
        }),
      ],
      'remove SPNs from',
    );
    return present;
  }

  /** Spec DEP2: deletes the AMT account; false when there was none. */
  async deleteAmtAccount(fqdn: string): Promise<boolean> {
    const account = await this.findAmtAccount(fqdn);
    if (!account) return false;
    try {
      await this.session.delete(account.dn);
    } catch (err) {
      if (ldapCodeOf(err) === LDAP.noSuchObject) return false;
      throw err;
    }
    return true;
  }

  /**
   * The SIDs of users and groups named in AMT user-account settings. Names are `DOMAIN\name`,
   * `name@upn.suffix` or a bare account name in amtflow's domain. All or nothing: one unknown name
   * fails the lookup with PRINCIPAL_NOT_FOUND naming it.
   */
  async lookupPrincipals(names: readonly string[]): Promise<DirectoryPrincipal[]> {
    const found: DirectoryPrincipal[] = [];
    for (const name of names) found.push(await this.lookupPrincipal(name));
    return found;
  }

  private async lookupPrincipal(name: string): Promise<DirectoryPrincipal> {
    const forest = await this.forest();
    const notFound = (why: string) =>
      new DirectoryError('PRINCIPAL_NOT_FOUND', `no user or group ${JSON.stringify(name)} ${why}`, { name });
    if (name.trim() === '' || name.endsWith('\\') || name.endsWith('@')) throw notFound('(empty name)');
    const backslash = name.indexOf('\\');
    const at = name.lastIndexOf('@');
    let searches: { domain: ForestDomain; filter: string }[];
    if (backslash > 0) {
      const domain = findDomain(forest, parseDomainName(name.slice(0, backslash)));
      if (!domain) throw notFound(`: ${name.slice(0, backslash)} is not a domain of the forest`);
      searches = [{ domain, filter: escapeFilter`(sAMAccountName=${name.slice(backslash + 1)})` }];
    } else if (at > 0) {
      // A UPN in any domain; groups have none, so `group@domain` also means that domain's account name.
      const domain = forest.domains.find((d) => d.dnsName === name.slice(at + 1).toLowerCase());
      searches = forest.domains.map((d) => ({
        domain: d,
        filter:
          d === domain
            ? escapeFilter`(|(userPrincipalName=${name})(sAMAccountName=${name.slice(0, at)}))`
            : escapeFilter`(userPrincipalName=${name})`,
      }));
    } else {
      searches = [{ domain: ownDomain(forest, this.config.domain), filter: escapeFilter`(sAMAccountName=${name})` }];
    }
    for (const { domain, filter } of searches) {
      if (!domain.hosted) {
        if (searches.length === 1) this.requireHosted(domain);
        continue;
      }
      const [entry] = await this.session.search(domain.dn, {
        scope: 'sub',
        filter: `(&(objectSid=*)${filter})`,
        attributes: ['objectSid', 'objectClass', 'sAMAccountName'],
        explicitBufferAttributes: ['objectSid'],
      });
      const sid = entry && binaryValue(entry, 'objectSid');
      if (!entry || !sid) continue;
      const classes = lower(values(entry, 'objectClass'));
      return {
        name,
        dn: entry.dn,
        samAccountName: value(entry, 'sAMAccountName') ?? '',
        kind: classes.includes('group') ? 'group' : classes.includes('computer') ? 'computer' : 'user',
        sid: sidToString(sid),
        sidBase64: sid.toString('base64'),
      };
    }
    throw notFound(`in ${searches.map((s) => s.domain.dnsName).join(', ')}`);
  }

  /**
   * Spec I5: adds the AMT account to the 802.1X and wireless groups named (any form lookupPrincipals
   * takes). Every name is resolved before anything changes (PRINCIPAL_NOT_FOUND changes nothing).
   * Returns the DNs of all those groups (`groups`: the account is a member of each now) and of those
   * it joined now (`changed`).
   */
  async addAmtAccountToGroups(
    fqdn: string,
    groups: readonly string[],
  ): Promise<{ groups: string[]; changed: string[] }> {
    const account = await this.requireAmtAccount(fqdn);
    const resolved = await this.lookupPrincipals(groups);
    const notGroup = resolved.find((p) => p.kind !== 'group');
    if (notGroup) {
      throw new DirectoryError(
        'PRINCIPAL_NOT_FOUND',
        `${notGroup.name} is a ${notGroup.kind}, not a group; name the 802.1X and wireless security groups`,
        { name: notGroup.name, dn: notGroup.dn },
      );
    }
    const dns = resolved.map((g) => g.dn);
    return { groups: dns, changed: await this.changeMembership(account.dn, dns, 'add') };
  }

  /**
   * Takes the AMT account out of the groups given by DN — those I5 recorded joining, never the
   * profile's names of today. A group deleted since is already left. Returns the DNs it left now.
   */
  async removeAmtAccountFromGroups(fqdn: string, groupDns: readonly string[]): Promise<string[]> {
    const account = await this.findAmtAccount(fqdn);
    if (!account) return [];
    return this.changeMembership(account.dn, groupDns, 'delete');
  }

  private async changeMembership(memberDn: string, groupDns: readonly string[], operation: 'add' | 'delete') {
    const changed: string[] = [];
    for (const groupDn of groupDns) {
      let isMember: boolean;
      try {
        isMember =
          (
            await this.session.search(groupDn, {
              scope: 'base',
              filter: escapeFilter`(member=${memberDn})`,
              attributes: ['1.1'],
            })
          ).length > 0;
      } catch (err) {
        // A group deleted since the account joined it holds no member any more.
        if (operation === 'delete' && ldapCodeOf(err) === LDAP.noSuchObject) continue;
        throw err;
      }
      if (isMember === (operation === 'add')) continue;
      try {
        await this.session.modify(
          groupDn,
          [new Change({ operation, modification: new Attribute({ type: 'member', values: [memberDn] }) })],
          operation === 'add' ? 'add a member to' : 'remove a member from',
        );
        changed.push(groupDn);
      } catch (err) {
        // A concurrent attempt did it first.
        const code = ldapCodeOf(err);
        if (code === LDAP.attributeOrValueExists || code === LDAP.noSuchAttribute) continue;
        throw err;
      }
    }
    return changed;
  }

  /**
   * Creates the AMT container (spec P3) in a domain, level by level, where it is missing. Used to
   * set up the dev/test DC; in production the directory's administrators create it.
   */
  async ensureAmtContainer(domainName: string = this.config.domain): Promise<string> {
    const forest = await this.forest();
    const domain = findDomain(forest, parseDomainName(domainName));
    if (!domain) throw new DirectoryError('DIRECTORY_CONFIG_INVALID', `${domainName} is not a domain of the forest`);
    this.requireHosted(domain);
    const rdns = splitDn(this.config.amtContainer);
    for (let i = rdns.length - 1; i >= 0; i--) {
      const dn = `${rdns.slice(i).join(',')},${domain.dn}`;
      if (await this.session.read(dn, ['1.1'])) continue;
      const type = rdns[i]!.slice(0, rdns[i]!.indexOf('=')).toUpperCase();
      const objectClass = type === 'OU' ? 'organizationalUnit' : type === 'CN' ? 'container' : undefined;
      if (!objectClass) {
        throw new DirectoryError(
          'DIRECTORY_CONFIG_INVALID',
          `directory.amtContainer ${this.config.amtContainer}: use OU= or CN= components`,
        );
      }
      try {
        await this.session.add(dn, { objectClass });
      } catch (err) {
        if (ldapCodeOf(err) !== LDAP.entryAlreadyExists) throw err;
      }
    }
    return this.containerDn(domain);
  }
}

/** Opens a session, runs `work`, closes the session: the shape an activity wants. */
export async function withDirectory<T>(config: DirectoryConfig, work: (ad: ActiveDirectory) => Promise<T>): Promise<T> {
  const directory = await ActiveDirectory.open(config);
  try {
    return await work(directory);
  } finally {
    await directory.close();
  }
}
