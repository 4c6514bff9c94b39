import { ClusterSettingsError, parseClusterSettings, readClusterSettings } from '../../../scripts/temporal-cluster';

describe('the production Temporal server settings (temporal-config/cluster.json)', () => {
  const settings = readClusterSettings();

  it('refuses a service port the server cannot record in PostgreSQL, naming the key and the limit', () => {
    const raw = { ...settings, ports: { ...settings.ports, historyMembership: 40000 } };
    expect(() => parseClusterSettings(raw)).toThrow(ClusterSettingsError);
    expect(() => parseClusterSettings(raw)).toThrow(/ports\.historyMembership: .*at most 32767/);
  });

  it('keeps the metrics port free of that limit: only service ports are recorded', () => {
    expect(parseClusterSettings({ ...settings, ports: { ...settings.ports, metrics: 40000 } }).ports.metrics).toBe(
      40000,
    );
  });
});
