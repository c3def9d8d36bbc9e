/**
 * Identity facts carried by one event: S7 SZL 0x0011 / 0x001C answers, Modbus FC43/14 and FC17, OPC UA
 * ApplicationDescriptions and sender certificates. Each fact says which side of the flow it describes and the
 * message it came from (the evidence text).
 */
import type { SensorEvent } from '../../protocols/wire/events.ts';
import type { CertificateFacts, OpcuaApplication } from './types.ts';

export interface IdentityFact {
  side: 'server' | 'client';
  field: string;
  value: string;
  protocol: string;
  message: string;
  unit?: number;
}

export interface ApplicationFact {
  side: 'server' | 'client';
  app: Omit<OpcuaApplication, 'evidence' | 'side'>;
  message: string;
}

export interface DiscoveredFact {
  app: Omit<OpcuaApplication, 'evidence' | 'side'>;
  discoveryUrls: string[];
  message: string;
}

export interface CertificateFact {
  side: 'server' | 'client';
  cert: Omit<CertificateFacts, 'evidence' | 'expiredWhenSeen'>;
  message: string;
}

export interface EventIdentity {
  facts: IdentityFact[];
  applications: ApplicationFact[];
  discovered: DiscoveredFact[];
  certificates: CertificateFact[];
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
function num(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}
function hex4(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

/** SZL 0x001C component keys (as the S7 decoder names them) → inventory field names. */
const SZL_1C_FIELDS: Record<string, string> = {
  plc_name: 'plcName',
  module_name: 'moduleName',
  plant_id: 'plantId',
  copyright: 'copyright',
  serial: 'serialNumber',
  module_type: 'moduleType',
  mmc_serial: 'memoryCardSerial',
  location_id: 'locationId',
};

/** Modbus FC43/14 object ids → field names (Modbus Application Protocol v1.1b3 §6.21). */
const MODBUS_OBJECT_FIELDS: Record<number, string> = {
  0: 'vendor',
  1: 'productCode',
  2: 'revision',
  3: 'vendorUrl',
  4: 'productName',
  5: 'modelName',
  6: 'userApplicationName',
};

/** Order-number prefixes that name the manufacturer (Siemens MLFB: 6ES7 SIMATIC, 6AG1 SIPLUS, 6GK NET, 6ES5 S5). */
const ORDER_NUMBER_VENDORS: [RegExp, string][] = [[/^6(ES7|AG1|GK|ES5|AV)/, 'Siemens']];

function s7Facts(e: SensorEvent, out: EventIdentity): void {
  const s7 = obj((e as { s7comm?: unknown }).s7comm);
  const response = obj(s7?.response);
  const ud = obj(response?.userdata);
  const szl = obj(ud?.szl);
  if (szl === null || ud === null) return;
  const szlId = num(szl.id);
  if (szlId === null) return;
  const idText = str(ud.szlId) ?? hex4(szlId);
  const list = szlId & 0xff;
  if (list === 0x11) {
    for (const m of arr(szl.moduleIds)) {
      const rec = obj(m);
      const index = num(rec?.index);
      if (rec === null || index === null) continue;
      const message = `S7 SZL ${idText} index ${hex4(index)} response`;
      const order = (str(rec.orderNumber) ?? '').trim();
      if (index === 1 && order !== '') {
        out.facts.push({ side: 'server', field: 'orderNumber', value: order, protocol: 's7comm', message });
        for (const [re, vendor] of ORDER_NUMBER_VENDORS) {
          if (re.test(order.replace(/\s+/g, '')))
            out.facts.push({ side: 'server', field: 'vendor', value: vendor, protocol: 's7comm', message });
        }
        const ausbg = num(rec.ausbg);
        if (ausbg !== null)
          out.facts.push({ side: 'server', field: 'moduleVersion', value: String(ausbg), protocol: 's7comm', message });
      } else if (index === 6) {
        if (order !== '')
          out.facts.push({ side: 'server', field: 'hardwareOrderNumber', value: order, protocol: 's7comm', message });
        const ausbg = num(rec.ausbg);
        if (ausbg !== null)
          out.facts.push({
            side: 'server',
            field: 'hardwareVersion',
            value: String(ausbg),
            protocol: 's7comm',
            message,
          });
      } else if (index === 7) {
        const version = str(rec.version);
        if (version !== null && version !== '')
          out.facts.push({ side: 'server', field: 'firmwareVersion', value: version, protocol: 's7comm', message });
      } else if (index === 0x81 && order !== '') {
        out.facts.push({ side: 'server', field: 'firmwareExtension', value: order, protocol: 's7comm', message });
      }
    }
  } else if (list === 0x1c) {
    for (const c of arr(szl.components)) {
      const rec = obj(c);
      const key = str(rec?.key);
      const value = (str(rec?.value) ?? '').trim();
      const index = num(rec?.index);
      if (key === null || value === '' || index === null) continue;
      const field = SZL_1C_FIELDS[key];
      if (field === undefined) continue;
      out.facts.push({
        side: 'server',
        field,
        value,
        protocol: 's7comm',
        message: `S7 SZL ${idText} index ${hex4(index)} response`,
      });
    }
  }
}

/** FC17 server id bytes as text when they are mostly printable (device-specific content), else as hex. */
function serverIdText(hex: string): string {
  const bytes: number[] = [];
  for (let i = 0; i + 1 < hex.length; i += 2) bytes.push(Number.parseInt(hex.slice(i, i + 2), 16));
  const printable = bytes.filter((b) => b >= 0x20 && b < 0x7f).length;
  if (bytes.length > 0 && printable / bytes.length >= 0.75) {
    return bytes
      .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ' '))
      .join('')
      .replace(/\s+/g, ' ')
      .trim();
  }
  return hex;
}

function modbusFacts(e: SensorEvent, out: EventIdentity): void {
  const mb = obj((e as { modbus?: unknown }).modbus);
  const response = obj(mb?.response);
  if (mb === null || response === null || response.isException === true) return;
  const unit = num(mb.unit) ?? 0;
  const func = num(response.func);
  if (func === 43 && response.meiType === 14) {
    const message = `Modbus FC43/14 Read Device Identification response (unit ${unit})`;
    for (const o of arr(response.objects)) {
      const rec = obj(o);
      const id = num(rec?.id);
      const value = (str(rec?.value) ?? '').trim();
      if (id === null || value === '') continue;
      const field = MODBUS_OBJECT_FIELDS[id] ?? `object0x${id.toString(16).padStart(2, '0')}`;
      out.facts.push({ side: 'server', field, value, protocol: 'modbus', message, unit });
    }
  } else if (func === 17) {
    const hex = str(response.serverIdHex);
    if (hex === null || hex === '') return;
    const message = `Modbus FC17 Report Server ID response (unit ${unit})`;
    out.facts.push({ side: 'server', field: 'serverId', value: serverIdText(hex), protocol: 'modbus', message, unit });
    if (typeof response.runIndicatorOn === 'boolean')
      out.facts.push({
        side: 'server',
        field: 'runIndicator',
        value: response.runIndicatorOn ? 'ON' : 'OFF',
        protocol: 'modbus',
        message,
        unit,
      });
  }
}

function appDescription(v: unknown): Omit<OpcuaApplication, 'evidence' | 'side'> | null {
  const d = obj(v);
  const uri = str(d?.applicationUri);
  if (d === null || uri === null || uri === '') return null;
  return {
    applicationUri: uri,
    productUri: str(d.productUri),
    applicationName: str(d.applicationName),
    applicationType: str(d.applicationTypeName),
  };
}

function opcuaTransactionFacts(e: SensorEvent, out: EventIdentity): void {
  const ua = obj((e as { opcua?: unknown }).opcua);
  if (ua === null) return;
  const service = str(ua.serviceName);
  const request = obj(ua.request);
  const response = obj(ua.response);
  const pushServer = (v: unknown, message: string) => {
    const app = appDescription(v);
    if (app !== null) out.applications.push({ side: 'server', app, message });
  };
  if (service === 'GetEndpointsRequest') {
    for (const ep of arr(response?.endpoints))
      pushServer(obj(ep)?.server, 'OPC UA GetEndpoints response EndpointDescription.Server');
  } else if (service === 'CreateSessionRequest') {
    const client = appDescription(request?.clientDescription);
    if (client !== null)
      out.applications.push({ side: 'client', app: client, message: 'OPC UA CreateSession request ClientDescription' });
    for (const ep of arr(response?.serverEndpoints))
      pushServer(obj(ep)?.server, 'OPC UA CreateSession response ServerEndpoints.Server');
  } else if (service === 'FindServersRequest') {
    for (const s of arr(response?.servers)) {
      const app = appDescription(s);
      if (app === null) continue;
      const urls = arr(obj(s)?.discoveryUrls).filter((u): u is string => typeof u === 'string');
      out.discovered.push({ app, discoveryUrls: urls, message: 'OPC UA FindServers response ApplicationDescription' });
    }
  }
}

function certificateFacts(e: SensorEvent, out: EventIdentity): void {
  const ua = obj((e as { opcua?: unknown }).opcua);
  const c = obj(ua?.senderCertificate);
  const thumbprint = str(c?.thumbprint);
  if (ua === null || c === null || thumbprint === null) return;
  const side = ua.dir === 1 ? 'server' : 'client';
  const type = str(ua.messageType) ?? 'OPN';
  out.certificates.push({
    side,
    message: `OPC UA ${type === 'OPN' ? 'OpenSecureChannel' : type} ${side === 'server' ? 'response' : 'request'} sender certificate`,
    cert: {
      thumbprint,
      subject: str(c.subject),
      issuer: str(c.issuer),
      validFrom: str(c.validFrom),
      validTo: str(c.validTo),
      serialNumber: str(c.serialNumber),
      applicationUri: str(c.applicationUri),
      selfSigned: typeof c.selfSigned === 'boolean' ? c.selfSigned : null,
      keyType: str(c.keyType),
      keyBits: num(c.keyBits),
    },
  });
}

/** Every identity fact in `e` (empty lists for events that carry none). */
export function identityOf(e: SensorEvent): EventIdentity {
  const out: EventIdentity = { facts: [], applications: [], discovered: [], certificates: [] };
  switch (e.kind) {
    case 's7comm.transaction':
      s7Facts(e, out);
      break;
    case 'modbus.transaction':
      modbusFacts(e, out);
      break;
    case 'opcua.transaction':
      opcuaTransactionFacts(e, out);
      break;
    case 'opcua.secure_channel':
      certificateFacts(e, out);
      break;
    default:
      break;
  }
  return out;
}
