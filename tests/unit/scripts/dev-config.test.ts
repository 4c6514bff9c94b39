import { ConfigError, loadConfig } from '../../../lib/config';

describe("npm start's own addresses in the configuration", () => {
  it('default to the dev setup and follow the environment', () => {
    expect(loadConfig({ env: {}, cwd: '/nonexistent' }).dev).toEqual({
      dcIp: '127.77.0.1',
      demo: 'on',
      demoDevices: 20,
      demoFirstIp: '127.20.0.1',
    });
    const config = loadConfig({
      env: {
        AMTFLOW_TEMPORAL_UI_PORT: '19001',
        AMTFLOW_DEV_DC_IP: '127.77.9.1',
        AMTFLOW_DEMO: 'off',
        AMTFLOW_DEMO_DEVICES: '1',
        AMTFLOW_DEMO_FIRST_IP: '127.78.9.1',
      },
      cwd: '/nonexistent',
    });
    expect(config.dev).toEqual({
      temporalUiPort: 19001,
      dcIp: '127.77.9.1',
      demo: 'off',
      demoDevices: 1,
      demoFirstIp: '127.78.9.1',
    });
  });

  it('refuse a bad value at start, naming the key and the variable', () => {
    const problems = (() => {
      try {
        loadConfig({ env: { AMTFLOW_DEV_DC_IP: '10.0.0.1', AMTFLOW_DEMO_DEVICES: '21' }, cwd: '/nonexistent' });
      } catch (err) {
        return (err as ConfigError).problems;
      }
    })();
    expect(problems).toEqual([
      'dev.dcIp (from AMTFLOW_DEV_DC_IP): must be an IPv4 address in 127.0.0.0/8',
      'dev.demoDevices (from AMTFLOW_DEMO_DEVICES): Too big: expected number to be <=20',
    ]);
  });
});
