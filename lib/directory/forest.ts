import { DirectoryError } from './errors';
import { isWithinDnsZone, parseDomainName, type DeviceDomainName, type HostName } from './names';
import { LdapSession, value, values } from './connection';
import { sameDn } from './dn';

/**
 * The forest as the directory describes it: the rootDSE names the configuration partition, whose
 * `CN=Partitions` container holds one crossRef per naming context; those flagged as domains
 * (systemFlags bit FLAG_CR_NTDS_DOMAIN) are the forest's domains. Domain trees follow from DNS: a
 * tree is a domain whose name lies under no other domain of the forest, plus every domain below it.
 */

export interface ForestDomain {
  /** DNS name, lower-cased. */
  dnsName: string;
  /** NetBIOS name, upper-cased. */
  netbiosName?: string;
  /** Domain naming context, e.g. DC=corp,DC=example,DC=test. */
  dn: string;
  /** DNS name of the root of the domain tree this domain belongs to. */
  tree: string;
  /** True when the connected domain controller holds this domain's naming context. */
  hosted: boolean;
}

export interface Forest {
  /** DNS name of the forest root domain. */
  rootDomain: string;
  domains: ForestDomain[];
}

export interface DomainCrossRef {
  dn: string;
  dnsName: string;
  netbiosName?: string;
}

/** FLAG_CR_NTDS_DOMAIN (MS-ADTS 6.1.1.2.1.1.5): the crossRef describes a domain, not an application partition. */
const FLAG_CR_NTDS_DOMAIN = 2;

/** Builds the forest from its domain crossRefs; pure, so the tree logic is unit-tested on its own. */
export function buildForest(rootDomainDn: string, crossRefs: DomainCrossRef[], hostedContexts: string[]): Forest {
  const names = crossRefs.map((ref) => ref.dnsName.toLowerCase());
  const domains = crossRefs.map((ref): ForestDomain => {
    const dnsName = ref.dnsName.toLowerCase();
    // The tree root is the shortest forest domain name that contains this one.
    const tree = names
      .filter((candidate) => isWithinDnsZone(dnsName, candidate))
      .reduce((a, b) => (b.length < a.length ? b : a));
    return {
      dnsName,
      ...(ref.netbiosName ? { netbiosName: ref.netbiosName.toUpperCase() } : {}),
      dn: ref.dn,
      tree,
      hosted: hostedContexts.some((nc) => sameDn(nc, ref.dn)),
    };
  });
  const root = domains.find((d) => sameDn(d.dn, rootDomainDn));
  if (!root) {
    throw new DirectoryError(
      'DIRECTORY_CONFIG_INVALID',
      `the forest root ${rootDomainDn} has no domain crossRef: is directory.url an Active Directory domain controller?`,
    );
  }
  return { rootDomain: root.dnsName, domains };
}

export async function discoverForest(session: LdapSession): Promise<Forest> {
  const rootDse = await session.read('', ['configurationNamingContext', 'rootDomainNamingContext', 'namingContexts']);
  const configuration = rootDse && value(rootDse, 'configurationNamingContext');
  const rootDomain = rootDse && value(rootDse, 'rootDomainNamingContext');
  if (!rootDse || !configuration || !rootDomain) {
    throw new DirectoryError(
      'DIRECTORY_CONFIG_INVALID',
      'the server at directory.url does not publish an Active Directory rootDSE (no configuration or root domain naming context)',
    );
  }
  const entries = await session.search(`CN=Partitions,${configuration}`, {
    scope: 'one',
    filter: `(&(objectClass=crossRef)(systemFlags:1.2.840.113556.1.4.803:=${FLAG_CR_NTDS_DOMAIN}))`,
    attributes: ['nCName', 'dnsRoot', 'nETBIOSName', 'enabled'],
  });
  const crossRefs = entries
    // A crossRef with enabled=FALSE is pre-created for a domain that does not exist yet.
    .filter((entry) => value(entry, 'enabled')?.toUpperCase() !== 'FALSE')
    .flatMap((entry): DomainCrossRef[] => {
      const dn = value(entry, 'nCName');
      const dnsName = value(entry, 'dnsRoot');
      const netbiosName = value(entry, 'nETBIOSName');
      return dn && dnsName ? [{ dn, dnsName, ...(netbiosName ? { netbiosName } : {}) }] : [];
    });
  return buildForest(rootDomain, crossRefs, values(rootDse, 'namingContexts'));
}

export function findDomain(forest: Forest, name: DeviceDomainName): ForestDomain | undefined {
  if (name.kind === 'dns') return forest.domains.find((d) => d.dnsName === name.name);
  if (name.kind === 'netbios') return forest.domains.find((d) => d.netbiosName === name.name);
  return undefined;
}

/** amtflow's own domain (directory.domain), which must be a domain of the forest it talks to. */
export function ownDomain(forest: Forest, domain: string): ForestDomain {
  const own = forest.domains.find((d) => d.dnsName === domain.toLowerCase());
  if (!own) {
    throw new DirectoryError(
      'DIRECTORY_CONFIG_INVALID',
      `directory.domain ${domain} is not a domain of the forest at directory.url ` +
        `(its domains: ${forest.domains.map((d) => d.dnsName).join(', ')})`,
      { domain },
    );
  }
  return own;
}

/**
 * Spec P4, decided from the forest alone: which domain a computer belongs to, or the typed reason
 * it cannot be provisioned. Reads nothing and writes nothing.
 *
 * - No domain, or a single-label name that is no domain's NetBIOS name: a workgroup computer.
 * - A DNS domain that is none of the forest's domains: another forest.
 * - A domain of another tree of the forest, or a host name outside amtflow's tree (a disjoint DNS
 *   suffix): a non-contiguous namespace — the provisioning certificate and Kerberos names of
 *   amtflow's namespace cannot cover it.
 */
export function placeComputer(
  forest: Forest,
  own: ForestDomain,
  host: HostName,
  domainInput: string | undefined,
): ForestDomain {
  const name = parseDomainName(domainInput);
  const domain = findDomain(forest, name);
  const forestDomains = forest.domains.map((d) => d.dnsName);
  if (!domain && name.kind !== 'dns') {
    throw new DirectoryError(
      'WORKGROUP_COMPUTER',
      `${host.fqdn} is a workgroup computer (${name.kind === 'none' ? 'no domain' : `workgroup ${name.name}`}), ` +
        `not a member of a domain of the forest ${forest.rootDomain}; AMT accounts and Kerberos need a domain member (spec P4). ` +
        'Join the computer to a domain, then provision it.',
      { fqdn: host.fqdn, workgroup: name.kind === 'none' ? '' : name.name },
    );
  }
  if (!domain) {
    throw new DirectoryError(
      'FOREIGN_FOREST',
      `${host.fqdn} belongs to ${domainInput}, which is not a domain of amtflow's forest ${forest.rootDomain} ` +
        `(its domains: ${forestDomains.join(', ')}); provision it from a service in its own forest (spec P4).`,
      { fqdn: host.fqdn, domain: name.kind === 'dns' ? name.name : '', forest: forest.rootDomain },
    );
  }
  if (host.suffix === '') {
    throw new DirectoryError(
      'INVALID_HOST_NAME',
      `${host.fqdn} is not fully qualified; AMT needs the computer's DNS suffix (e.g. ${host.fqdn}.${domain.dnsName})`,
      { hostName: host.fqdn },
    );
  }
  if (domain.tree !== own.tree) {
    throw nonContiguous(
      host,
      domain,
      own,
      `its domain ${domain.dnsName} is in the ${domain.tree} tree`,
      `use a provisioning service in the ${domain.tree} namespace`,
    );
  }
  if (!isWithinDnsZone(host.suffix, own.tree)) {
    throw nonContiguous(
      host,
      domain,
      own,
      `its DNS suffix ${host.suffix} lies outside ${own.tree}`,
      `give the computer a DNS suffix inside ${own.tree}`,
    );
  }
  return domain;
}

function nonContiguous(
  host: HostName,
  domain: ForestDomain,
  own: ForestDomain,
  why: string,
  remedy: string,
): DirectoryError {
  return new DirectoryError(
    'NON_CONTIGUOUS_NAMESPACE',
    `${host.fqdn} is in amtflow's forest but not in its namespace: ${why}, while amtflow's domain ${own.dnsName} ` +
      `is in the ${own.tree} tree. It cannot be provisioned from ${own.dnsName} (spec P4); ${remedy}.`,
    { fqdn: host.fqdn, domain: domain.dnsName, namespace: own.tree },
  );
}
