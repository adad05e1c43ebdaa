// Inputs shared by the config, QR, end-to-end and bench tests. Keys were made with `wg genkey`,
// so `wg setconf` takes them on a real interface.
import { renderClientConfig, type RenderClientConfigInput } from '../../../functions/domain/render-client-config.js';

export const KEYS = {
  clientPrivate: 'gJB3NOIjUleAtsDvdAkU5ADriXmwXQQynJ7wEOQaU1g=',
  clientPublic: '12jsa5HzG2iA4gYtZuT0BT2lOq9aexgzlkyz8rq7Nyg=',
  gatewayPrivate: 'CPIBlN+ls1bw4+iHVwOTK6J5etVTPNtmKP5FFSD+NHU=',
  gatewayPublic: 'iPPBwXoAT2mgUaNBJ2LCAKs4ndSDJ0hNdX2Rcyy4Oxo=',
  /** For a bring-your-own-key client: the user's own pair, never given to the server. */
  byoPrivate: 'EOZvqr/TfuExlskPCfYJtFHkfZSXXSAn9AQOIll6P2A=',
  byoPublic: 'xeHiecIGuuLrOEnyn2ydO0POUA+hD8HRQtdb1FHkkX4=',
  preshared: 'I1MMl5Krwwd0OR/1cAEzjb+GRLFlly4YUOrA3pcVXTI=',
} as const;

const baseNetwork: RenderClientConfigInput['network'] = {
  addressRange: '10.100.0.0/24',
  defaultDns: [],
};

const baseGateway: RenderClientConfigInput['gateway'] = {
  publicKey: KEYS.gatewayPublic,
  endpoint: '192.0.2.10',
  listenPort: 51820,
  routedRanges: ['10.20.0.0/16'],
  fullTunnel: false,
  dns: [],
};

const baseClient: RenderClientConfigInput['client'] = { name: 'alice-phone', address: '10.100.0.7', dns: [] };

/** One entry per golden file in ./golden/<name>.conf. */
export const configVariants: Record<string, RenderClientConfigInput> = {
  'generated-key': {
    client: baseClient,
    privateKey: KEYS.clientPrivate,
    gateway: { ...baseGateway, dns: ['10.100.0.1'], mtu: 1420, persistentKeepalive: 25 },
    network: baseNetwork,
  },
  'byo-key': {
    client: { ...baseClient, name: 'bob-laptop', address: '10.100.0.8' },
    gateway: { ...baseGateway, dns: ['10.100.0.1'] },
    network: baseNetwork,
  },
  'with-psk': {
    client: baseClient,
    privateKey: KEYS.clientPrivate,
    presharedKey: KEYS.preshared,
    gateway: { ...baseGateway, persistentKeepalive: 25 },
    network: baseNetwork,
  },
  'dual-stack': {
    client: { ...baseClient, address6: 'fd00:100::7' },
    privateKey: KEYS.clientPrivate,
    presharedKey: KEYS.preshared,
    gateway: {
      ...baseGateway,
      // The network's own range listed again and one range twice: both must appear once.
      routedRanges: ['10.20.0.0/16', '10.100.0.0/24', 'fd00:200::/64', '10.20.0.0/16'],
      dns: ['10.100.0.1', 'fd00:100::1'],
      mtu: 1380,
    },
    network: { ...baseNetwork, addressRange6: 'fd00:100::/112' },
  },
  'full-tunnel': {
    client: { ...baseClient, address6: 'fd00:100::7' },
    privateKey: KEYS.clientPrivate,
    gateway: { ...baseGateway, fullTunnel: true, dns: ['1.1.1.1', '2606:4700:4700::1111'], persistentKeepalive: 25 },
    network: { ...baseNetwork, addressRange6: 'fd00:100::/112' },
  },
  'ipv6-endpoint': {
    client: baseClient,
    privateKey: KEYS.clientPrivate,
    gateway: { ...baseGateway, endpoint: '2001:db8::10', listenPort: 443 },
    network: baseNetwork,
  },
  'hostname-endpoint': {
    client: baseClient,
    privateKey: KEYS.clientPrivate,
    gateway: { ...baseGateway, endpoint: 'gw1.vpn.example.test' },
    network: baseNetwork,
  },
  // DNS: the client's list, else the gateway's, else the network's, else no DNS line.
  'dns-client': {
    client: { ...baseClient, dns: ['10.100.0.53', '10.100.0.54'] },
    privateKey: KEYS.clientPrivate,
    gateway: { ...baseGateway, dns: ['10.100.0.1'] },
    network: { ...baseNetwork, defaultDns: ['9.9.9.9'] },
  },
  'dns-gateway': {
    client: baseClient,
    privateKey: KEYS.clientPrivate,
    gateway: { ...baseGateway, dns: ['10.100.0.1'] },
    network: { ...baseNetwork, defaultDns: ['9.9.9.9'] },
  },
  'dns-network': {
    client: baseClient,
    privateKey: KEYS.clientPrivate,
    gateway: baseGateway,
    network: { ...baseNetwork, defaultDns: ['9.9.9.9'] },
  },
  'dns-none': {
    client: baseClient,
    privateKey: KEYS.clientPrivate,
    gateway: baseGateway,
    network: baseNetwork,
  },
};

/** The private key a BYO user pastes over the placeholder line. */
export function completeByoConfig(text: string, privateKey: string = KEYS.byoPrivate): string {
  return text.replace(/^PrivateKey = <paste your private key here>$/m, `PrivateKey = ${privateKey}`);
}

// Limits the schemas allow (DESIGN §4); the largest config is built at every one of them.
export const LIMITS = {
  nameLength: 32,
  dnsServers: 3,
  routedRanges: 16,
  endpointLength: 253,
} as const;

const longName = (c: string) => c.repeat(LIMITS.nameLength);
// 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 characters: the longest DNS name.
const longestHostname = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');
// The longest textual IPv6 address (mixed notation, 45 characters) in case a DNS entry is kept as typed.
const longestIp6 = (n: number) => `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.${250 + n}`;
// A canonical IPv6 prefix never has more than 39 + 4 characters.
const longestRange6 = (n: number) => `fd99:3456:789a:bcde:f012:3456:789a:${(0xbc00 + n).toString(16)}/128`;

export function largestAllowedConfigInputs(): RenderClientConfigInput[] {
  const gateway: RenderClientConfigInput['gateway'] = {
    publicKey: KEYS.gatewayPublic,
    endpoint: longestHostname,
    listenPort: 65535,
    routedRanges: Array.from({ length: LIMITS.routedRanges }, (_, i) => longestRange6(i)),
    fullTunnel: false,
    dns: [],
    mtu: 65535,
    persistentKeepalive: 65535,
  };
  const network: RenderClientConfigInput['network'] = {
    addressRange: '100.100.100.128/25',
    addressRange6: 'fd12:3456:789a:bcde:f012:3456:789a:bc00/120',
    defaultDns: [],
  };
  const client: RenderClientConfigInput['client'] = {
    name: longName('z'),
    address: '100.100.100.254',
    address6: 'fd12:3456:789a:bcde:f012:3456:789a:bcfe',
    dns: Array.from({ length: LIMITS.dnsServers }, (_, i) => longestIp6(i)),
  };
  return [
    { client, gateway, network, privateKey: KEYS.clientPrivate, presharedKey: KEYS.preshared },
    // Bring-your-own-key: the placeholder and its comment are longer than a key.
    { client, gateway, network, presharedKey: KEYS.preshared },
  ];
}

/** The longest config text the API can produce: the QR code must still hold it. */
export function largestAllowedConfig(): string {
  return largestAllowedConfigInputs()
    .map(renderClientConfig)
    .reduce((a, b) => (b.length > a.length ? b : a));
}
