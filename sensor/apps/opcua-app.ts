/**
 * OPC UA Binary as a pipeline module: `opcuaModule` (AppModule<OpcuaCounters>, name 'opcua') probes streams, makes
 * one OpcuaFlowApp per OPC UA connection, counts into OpcuaCounters (per run) and summarises them as the `opcua`
 * section, keyed like the tshark `.truth.json` files.
 *
 * Counting (always) touches only numbers on the per-chunk path. Bodies are decoded for the rare identity-bearing
 * messages the summary needs (Hello, OPN header, GetEndpoints, FindServers, CreateSession) and, when an event sink is
 * attached, for every transaction. Secrets (passwords, token data, nonces, signatures) never leave the decoder.
 */

import { parseCertificate } from '../../protocols/opcua/certificate.ts';
import {
  MESSAGE_TYPE_COUNT,
  MESSAGE_TYPE_NAMES,
  MT_ERR,
  MT_HEL,
  MT_OPN,
  MT_RHE,
} from '../../protocols/opcua/constants.ts';
import {
  type ApplicationDescription,
  type Decoded,
  decodeAcknowledge,
  decodeAsymmetricHeader,
  decodeError,
  decodeHello,
  decodeReverseHello,
  decodeServiceBody,
  type EndpointDescription,
  hexOf,
} from '../../protocols/opcua/decode.ts';
import { encodingId, encodingName, statusCodeHex, statusCodeName } from '../../protocols/opcua/names.ts';
import { type OpcuaListener, OpcuaParser } from '../../protocols/opcua/parser.ts';
import { OPCUA_PORT, probeOpcua } from '../../protocols/opcua/probe.ts';
import type { OpcuaAnomaly, OpcuaChunk, OpcuaParserOptions, OpcuaTransaction } from '../../protocols/opcua/types.ts';
import type { SensorEvent } from '../../protocols/wire/events.ts';
import { policyShortName } from '../../rules/engine/fields.ts';
import {
  type EvidenceBuilder,
  K_OPCUA_CHANNEL,
  K_OPCUA_SESSION,
  K_OPCUA_TRANSPORT,
  K_OPCUA_TX,
  type OpcuaPosture,
  OpcuaTxSubject,
  type Subject,
} from '../../rules/engine/subjects.ts';
import type { RuleHook } from '../alerts.ts';
import type { EventFactory } from '../event-factory.ts';
import type { Flow } from '../flow/flow.ts';
import type { AppContext, AppModule, FlowApp } from './app.ts';

const ID = {
  getEndpointsRequest: encodingId('GetEndpointsRequest'),
  getEndpointsResponse: encodingId('GetEndpointsResponse'),
  findServersRequest: encodingId('FindServersRequest'),
  findServersResponse: encodingId('FindServersResponse'),
  createSessionRequest: encodingId('CreateSessionRequest'),
  createSessionResponse: encodingId('CreateSessionResponse'),
  activateSessionRequest: encodingId('ActivateSessionRequest'),
  openSecureChannelRequest: encodingId('OpenSecureChannelRequest'),
  openSecureChannelResponse: encodingId('OpenSecureChannelResponse'),
};
/** Messages whose bodies carry inventory facts the summary reports (decoded even when counting only). */
const IDENTITY_SERVICES = new Set([
  ID.getEndpointsRequest,
  ID.getEndpointsResponse,
  ID.findServersRequest,
  ID.findServersResponse,
  ID.createSessionRequest,
  ID.createSessionResponse,
]);

export interface OpcuaSummary {
  frames: number;
  messages: number;
  message_types: Record<string, number>;
  services: Record<string, number>;
  transport_errors: Record<string, number>;
  security_policies: string[];
  endpoints: string[];
  application_uris: string[];
  product_uris: string[];
  product_names: string[];
  manufacturers: string[];
  software_versions: string[];
  talkers: [string, string, 'opcua'][];
  /** Beyond the truth files: */
  encrypted_messages: number;
  transactions: number;
  service_results: Record<string, number>;
  security_modes: Record<string, number>;
  identity_tokens: Record<string, number>;
  certificates: string[];
  anomalies: Record<string, number>;
}

export class OpcuaCounters {
  frames = 0;
  messages = 0;
  encryptedMessages = 0;
  transactions = 0;
  readonly messageTypes = new Float64Array(MESSAGE_TYPE_COUNT);
  readonly services = new Map<number, number>();
  readonly transportErrors = new Map<number, number>();
  /** Non-Good ResponseHeader.ServiceResult codes. */
  readonly serviceResults = new Map<number, number>();
  readonly securityModes = new Map<string, number>();
  readonly identityTokens = new Map<string, number>();
  readonly securityPolicies = new Set<string>();
  readonly endpoints = new Set<string>();
  readonly applicationUris = new Set<string>();
  readonly productUris = new Set<string>();
  readonly productNames = new Set<string>();
  readonly manufacturers = new Set<string>();
  readonly softwareVersions = new Set<string>();
  readonly certificates = new Set<string>();
  readonly talkers = new Set<string>();
  readonly anomalies = new Map<string, number>();

  countService(id: number): void {
    this.services.set(id, (this.services.get(id) ?? 0) + 1);
  }

  countAnomaly(name: string): void {
    bump(this.anomalies, name);
  }

  addApplication(app: ApplicationDescription): void {
    if (app.applicationUri) this.applicationUris.add(app.applicationUri);
    if (app.productUri) this.productUris.add(app.productUri);
  }

  addEndpoint(url: string | null): void {
    if (url) this.endpoints.add(url);
  }

  toJSON(): OpcuaSummary {
    const typeCounts: [string, number][] = [];
    for (let t = 0; t < MESSAGE_TYPE_COUNT; t++) {
      const n = this.messageTypes[t] ?? 0;
      if (n > 0) typeCounts.push([MESSAGE_TYPE_NAMES[t] ?? String(t), n]);
    }
    const messageTypes = Object.fromEntries(typeCounts.sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    const services: Record<string, number> = {};
    for (const [id, n] of [...this.services.entries()].sort((a, b) => a[0] - b[0])) {
      services[`${id} ${encodingName(id) || '?'}`] = n;
    }
    const byHex = (m: Map<number, number>, named: boolean): Record<string, number> =>
      Object.fromEntries(
        [...m.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([code, n]) => [
            named ? `${statusCodeHex(code)} ${statusCodeName(code) || '?'}` : statusCodeHex(code),
            n,
          ]),
      );
    return {
      frames: this.frames,
      messages: this.messages,
      message_types: messageTypes,
      services,
      transport_errors: byHex(this.transportErrors, false),
      security_policies: sorted(this.securityPolicies),
      endpoints: sorted(this.endpoints),
      application_uris: sorted(this.applicationUris),
      product_uris: sorted(this.productUris),
      product_names: sorted(this.productNames),
      manufacturers: sorted(this.manufacturers),
      software_versions: sorted(this.softwareVersions),
      talkers: sorted(this.talkers).map((t) => {
        const [src = '', dst = ''] = t.split('\u0000');
        return [src, dst, 'opcua'] as [string, string, 'opcua'];
      }),
      encrypted_messages: this.encryptedMessages,
      transactions: this.transactions,
      service_results: byHex(this.serviceResults, true),
      security_modes: Object.fromEntries([...this.securityModes.entries()].sort()),
      identity_tokens: Object.fromEntries([...this.identityTokens.entries()].sort()),
      certificates: sorted(this.certificates),
      anomalies: Object.fromEntries([...this.anomalies.entries()].sort()),
    };
  }
}

function sorted(s: Set<string>): string[] {
  return [...s].sort();
}

function bump<K>(m: Map<K, number>, k: K, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

export function mergeOpcuaCounters(into: OpcuaCounters, from: OpcuaCounters): void {
  into.frames += from.frames;
  into.messages += from.messages;
  into.encryptedMessages += from.encryptedMessages;
  into.transactions += from.transactions;
  for (let t = 0; t < MESSAGE_TYPE_COUNT; t++)
    into.messageTypes[t] = (into.messageTypes[t] ?? 0) + (from.messageTypes[t] ?? 0);
  for (const key of ['services', 'transportErrors', 'serviceResults'] as const) {
    for (const [k, n] of from[key]) bump(into[key], k, n);
  }
  for (const key of ['securityModes', 'identityTokens', 'anomalies'] as const) {
    for (const [k, n] of from[key]) bump(into[key], k, n);
  }
  for (const key of [
    'securityPolicies',
    'endpoints',
    'applicationUris',
    'productUris',
    'productNames',
    'manufacturers',
    'softwareVersions',
    'certificates',
    'talkers',
  ] as const) {
    for (const v of from[key]) into[key].add(v);
  }
}

/** Per-connection state: the parser plus what the events and summary need to remember about the channel. */
export class OpcuaFlowApp implements FlowApp, OpcuaListener<OpcuaFlowApp>, EvidenceBuilder {
  readonly parser: OpcuaParser<OpcuaFlowApp>;
  private readonly counters: OpcuaCounters;
  private readonly events: EventFactory | null;
  /** Bit 0: OPC UA went client→server; bit 1: server→client. */
  private talkerBits = 0;
  /** Time of the last packet counted in `frames` (tshark counts a frame once, however many messages end in it). */
  private lastFrameSec = -1;
  private lastFrameNsec = -1;
  /** What the connection showed of its security so far (policy, mode, session token): rules read it. */
  private readonly posture: OpcuaPosture = { policyUri: null, securityMode: null, identityTokenType: null };
  private readonly rules: RuleHook | null;

  constructor(
    readonly flow: Flow,
    ctx: AppContext<OpcuaCounters>,
    options: OpcuaParserOptions = {},
  ) {
    this.counters = ctx.counters;
    this.events = ctx.events;
    this.rules = ctx.rules ?? null;
    // Rules on OPC UA read service bodies (node ids, tokens): decode when events or such rules want them.
    const decode = ctx.events !== null || (this.rules?.wantsOpcua() ?? false);
    // Without events, only what a rule (or its evidence) reads gets decoded: bodies decode on first read.
    const lazyBodies = ctx.events === null;
    const budget = ctx.buffers;
    this.parser = new OpcuaParser<OpcuaFlowApp>(this, this, {
      decode,
      lazyBodies,
      ...(budget === undefined ? {} : { budget }),
      ...(ctx.loan === undefined ? {} : { loan: ctx.loan }),
      ...options,
    });
  }

  data(dir: 0 | 1, buf: Uint8Array, off: number, len: number, tsSec: number, tsNsec: number): void {
    this.parser.data(dir, buf, off, len, tsSec, tsNsec);
  }

  gap(dir: 0 | 1, bytes: number): void {
    this.parser.gap(dir, bytes);
  }

  expire(tsSec: number): void {
    this.parser.expire(tsSec);
  }

  end(tsSec: number, captureEnded: boolean): void {
    this.parser.end(tsSec, captureEnded);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Parser callbacks (ctx === this)

  chunk(_ctx: OpcuaFlowApp, c: OpcuaChunk): void {
    const k = this.counters;
    k.messages++;
    k.messageTypes[c.msgType] = (k.messageTypes[c.msgType] ?? 0) + 1;
    if (c.tsSec !== this.lastFrameSec || c.tsNsec !== this.lastFrameNsec) {
      this.lastFrameSec = c.tsSec;
      this.lastFrameNsec = c.tsNsec;
      k.frames++;
    }
    const bit = c.dir === 0 ? 1 : 2;
    if ((this.talkerBits & bit) === 0) {
      this.talkerBits |= bit;
      k.talkers.add(`${this.flow.srcIp(c.dir)}\u0000${this.flow.dstIp(c.dir)}`);
    }
    if (c.encrypted) k.encryptedMessages++;
    if (c.serviceId >= 0) k.countService(c.serviceId);
    if (c.headerOnly) return;
    if (c.msgType < MT_OPN) this.transport(c);
    else if (c.msgType === MT_OPN) this.openSecureChannel(c);
    if (c.complete && c.serviceId >= 0 && IDENTITY_SERVICES.has(c.serviceId)) {
      const body = decodeServiceBody(c.serviceId, c.bodyBuf, c.bodyOff, c.bodyLen);
      if (body !== null) this.collectIdentity(c.serviceId, body);
    }
    if (c.serviceId === ID.activateSessionRequest && c.complete && this.events === null) {
      // Posture counters need the identity token type even when counting only (one message per session).
      const body = decodeServiceBody(c.serviceId, c.bodyBuf, c.bodyOff, c.bodyLen);
      const token = body?.userIdentityToken as Decoded | undefined;
      if (token) bump(k.identityTokens, String(token.tokenType));
    }
  }

  transaction(_ctx: OpcuaFlowApp, tx: OpcuaTransaction): void {
    const k = this.counters;
    k.transactions++;
    if (tx.serviceResult > 0) bump(k.serviceResults, tx.serviceResult);
    if (tx.requestServiceId === ID.activateSessionRequest && (this.events !== null || this.rules !== null)) {
      const token = tx.request?.userIdentityToken as Decoded | undefined;
      if (token && this.events !== null) bump(k.identityTokens, String(token.tokenType));
      if (token) this.posture.identityTokenType = String(token.tokenType);
      this.sessionEvent(tx, token);
    }
    const rules = this.rules;
    let event: SensorEvent | null = null;
    if (this.events !== null) {
      event = this.transactionEvent(this.events, tx);
      this.events.emit(event);
    }
    // Rules only: numbered as if built, so evidence ids match --events (EventFactory.reserve).
    const seq = event === null && rules !== null ? rules.factory.reserve(this.flow) : 0;
    if (rules?.engine.wants(K_OPCUA_TX)) {
      // The subject reads the times from the record (request time, else response), so none is boxed per call.
      rules.opcuaTx.set(tx, this.posture, this.flow, event);
      rules.opcuaTx.eventSeq = seq;
      rules.opcuaTx.builder = this;
      rules.engine.evaluate(K_OPCUA_TX, rules.opcuaTx);
    }
  }

  buildEvidence(_kind: number, subject: Subject): SensorEvent | null {
    if (this.rules === null || !(subject instanceof OpcuaTxSubject) || subject.tx === null) return null;
    return this.transactionEvent(this.rules.factory, subject.tx, subject.eventSeq);
  }

  private transactionEvent(factory: EventFactory, tx: OpcuaTransaction, seq = 0): SensorEvent {
    const opcua: Record<string, unknown> = {
      kind: tx.kind,
      reason: tx.reason,
      requestId: tx.requestId,
    };
    if (tx.requestServiceId >= 0) {
      opcua.service = tx.requestServiceId;
      opcua.serviceName = tx.requestServiceName;
    }
    if (tx.responseServiceId >= 0) {
      opcua.responseService = tx.responseServiceId;
      opcua.responseServiceName = tx.responseServiceName;
    }
    if (tx.serviceResult >= 0) {
      opcua.serviceResult = tx.serviceResult;
      opcua.serviceResultName = tx.serviceResultName || statusCodeHex(tx.serviceResult);
    }
    if (tx.rttNs >= 0) opcua.rttUs = Math.round(tx.rttNs / 1000);
    if (tx.request) opcua.request = jsonSafe(tx.request);
    if (tx.response) opcua.response = jsonSafe(tx.response);
    const paired = tx.requestTsSec >= 0;
    return factory.base(
      this.flow,
      'opcua.transaction',
      'opcua',
      paired ? tx.requestTsSec : tx.responseTsSec,
      paired ? tx.requestTsNsec : tx.responseTsNsec,
      { opcua },
      seq,
    );
  }

  anomaly(_ctx: OpcuaFlowApp, a: OpcuaAnomaly): void {
    const name = `opcua.${a.kind}`;
    this.counters.countAnomaly(name);
    let event: SensorEvent | null = null;
    if (this.events !== null) {
      const fields: Record<string, unknown> = {};
      if (a.requestId >= 0) fields.requestId = a.requestId;
      if (a.serviceId >= 0) {
        fields.service = a.serviceId;
        fields.serviceName = encodingName(a.serviceId);
      }
      if (a.value >= 0) fields.value = a.value;
      event = this.events.anomaly(this.flow, 'opcua', name, a.dir, a.detail, a.tsSec, a.tsNsec, fields);
    }
    if (this.rules !== null) {
      const s = this.rules.anomalySubject.set(this.flow, 'opcua', name, a.dir, a.detail, a.tsSec, a.tsNsec, event);
      s.requestId = a.requestId;
      s.value = a.value;
      if (a.serviceId >= 0) {
        s.service = a.serviceId;
        s.serviceName = encodingName(a.serviceId);
      }
      this.rules.anomaly(s);
    }
  }

  /**
   * Factory for a rare message's event: the events one, or the rules' when only a rule on `kind` wants it. Called
   * once per message that has an event when events are on: with rules but no event built, the event is numbered
   * anyway (EventFactory.reserve), so later ids on the flow match --events.
   */
  private rareFactory(kind: number): { factory: EventFactory | null; rules: RuleHook | null } {
    const rules = this.rules?.engine.wants(kind) ? this.rules : null;
    const factory = this.events ?? rules?.factory ?? null;
    if (factory === null) this.rules?.factory.reserve(this.flow);
    return { factory, rules };
  }

  private rareRules(
    rules: RuleHook | null,
    kind: number,
    record: Record<string, unknown>,
    event: SensorEvent,
    tsSec: number,
    tsNsec: number,
  ): void {
    if (rules === null) return;
    rules.record.set(record, this.flow, tsSec, tsNsec, event);
    rules.engine.evaluate(kind, rules.record);
  }

  // ---------------------------------------------------------------------------------------------------------------

  private transport(c: OpcuaChunk): void {
    const bodyOff = c.off + 8;
    const bodyLen = c.len - 8;
    let fields: Record<string, unknown>;
    if (c.msgType === MT_HEL) {
      const hel = decodeHello(c.buf, bodyOff, bodyLen);
      this.counters.addEndpoint(hel.endpointUrl);
      fields = { ...hel };
    } else if (c.msgType === MT_ERR) {
      const err = decodeError(c.buf, bodyOff, bodyLen);
      bump(this.counters.transportErrors, err.error);
      fields = { ...err, errorName: err.errorName || statusCodeHex(err.error) };
    } else if (c.msgType === MT_RHE) {
      const rhe = decodeReverseHello(c.buf, bodyOff, bodyLen);
      this.counters.addEndpoint(rhe.endpointUrl);
      fields = { ...rhe };
    } else fields = { ...decodeAcknowledge(c.buf, bodyOff, bodyLen) };
    const { factory, rules } = this.rareFactory(K_OPCUA_TRANSPORT);
    if (factory === null) return;
    const opcua = { messageType: c.typeName, dir: c.dir, ...fields };
    const event = factory.base(this.flow, 'opcua.transport', 'opcua', c.tsSec, c.tsNsec, { opcua });
    if (this.events !== null) this.events.emit(event);
    this.rareRules(rules, K_OPCUA_TRANSPORT, opcua, event, c.tsSec, c.tsNsec);
  }

  private openSecureChannel(c: OpcuaChunk): void {
    const hdr = decodeAsymmetricHeader(c.buf, c.off + 12, c.len - 12);
    if (hdr.securityPolicyUri) {
      this.counters.securityPolicies.add(hdr.securityPolicyUri);
      this.posture.policyUri = hdr.securityPolicyUri;
    }
    let body: Decoded | null = null;
    if (c.complete && c.serviceId >= 0) body = decodeServiceBody(c.serviceId, c.bodyBuf, c.bodyOff, c.bodyLen);
    if (body !== null && c.serviceId === ID.openSecureChannelRequest && typeof body.securityModeName === 'string') {
      this.posture.securityMode = body.securityModeName;
      bump(this.counters.securityModes, body.securityModeName);
    } else if (c.dir === 0 && c.encrypted && c.complete) {
      // The mode travels inside the encrypted body: all we know is that it is not None.
      this.posture.securityMode = 'Sign or SignAndEncrypt (encrypted)';
      bump(this.counters.securityModes, this.posture.securityMode);
    }
    const cert =
      hdr.senderCertificate !== null && hdr.senderCertificate.length > 0
        ? parseCertificate(hdr.senderCertificate)
        : null;
    if (cert !== null) this.counters.certificates.add(cert.thumbprint);
    const { factory, rules } = this.rareFactory(K_OPCUA_CHANNEL);
    if (factory === null) return;
    const opcua: Record<string, unknown> = {
      messageType: 'OPN',
      dir: c.dir,
      secureChannelId: c.secureChannelId,
      securityPolicyUri: hdr.securityPolicyUri,
      encrypted: c.encrypted,
    };
    if (c.serviceId >= 0) {
      opcua.service = c.serviceId;
      opcua.serviceName = c.serviceName;
    }
    if (cert !== null) opcua.senderCertificate = cert;
    if (hdr.receiverThumbprint !== null && hdr.receiverThumbprint.length > 0) {
      opcua.receiverCertificateThumbprint = hexOf(hdr.receiverThumbprint);
    }
    if (c.requestId >= 0) opcua.requestId = c.requestId;
    if (body !== null) opcua.body = jsonSafe(body);
    const event = factory.base(this.flow, 'opcua.secure_channel', 'opcua', c.tsSec, c.tsNsec, { opcua });
    if (this.events !== null) this.events.emit(event);
    if (rules !== null) {
      const record: Record<string, unknown> = {
        dir: c.dir,
        messageType: 'OPN',
        secureChannelId: c.secureChannelId,
        securityPolicyUri: hdr.securityPolicyUri,
        securityPolicy: policyShortName(hdr.securityPolicyUri),
        securityMode: this.posture.securityMode,
        requestTypeName: body?.requestTypeName,
        encrypted: c.encrypted,
        serviceName: c.serviceId >= 0 ? c.serviceName : undefined,
        'senderCertificate.present': cert !== null,
      };
      if (cert !== null) {
        const t = c.tsSec * 1000;
        const from = Date.parse(cert.validFrom);
        const to = Date.parse(cert.validTo);
        record['senderCertificate.selfSigned'] = cert.selfSigned;
        record['senderCertificate.expired'] = (Number.isFinite(to) && t > to) || (Number.isFinite(from) && t < from);
        record['senderCertificate.subject'] = cert.subject;
        record['senderCertificate.issuer'] = cert.issuer;
        record['senderCertificate.thumbprint'] = cert.thumbprint;
        record['senderCertificate.keyBits'] = cert.keyBits;
        record['senderCertificate.validTo'] = cert.validTo;
      }
      this.rareRules(rules, K_OPCUA_CHANNEL, record, event, c.tsSec, c.tsNsec);
    }
  }

  private collectIdentity(serviceId: number, body: Decoded): void {
    const k = this.counters;
    if (typeof body.endpointUrl === 'string') k.addEndpoint(body.endpointUrl);
    const endpoints = (body.endpoints ?? body.serverEndpoints) as EndpointDescription[] | undefined;
    if (Array.isArray(endpoints)) {
      for (const e of endpoints) {
        k.addEndpoint(e.endpointUrl);
        k.addApplication(e.server);
      }
    }
    if (serviceId === ID.findServersResponse && Array.isArray(body.servers)) {
      for (const app of body.servers as ApplicationDescription[]) k.addApplication(app);
    }
    if (serviceId === ID.createSessionRequest && body.clientDescription) {
      k.addApplication(body.clientDescription as ApplicationDescription);
    }
    for (const key of ['clientCertificate', 'serverCertificate'] as const) {
      const der = body[key];
      if (der instanceof Uint8Array) {
        const cert = parseCertificate(der);
        if (cert !== null) k.certificates.add(cert.thumbprint);
      }
    }
  }

  private sessionEvent(tx: OpcuaTransaction, token: Decoded | undefined): void {
    const { factory, rules } = this.rareFactory(K_OPCUA_SESSION);
    if (factory === null) return;
    const opcua: Record<string, unknown> = {
      requestId: tx.requestId,
      securityPolicyUri: this.posture.policyUri,
      securityMode: this.posture.securityMode,
      identityTokenType: token?.tokenType ?? 'Unknown',
    };
    if (token !== undefined) {
      if (token.policyId !== undefined) opcua.policyId = token.policyId;
      if (token.userName !== undefined) opcua.userName = token.userName;
      if (token.passwordPresent !== undefined) opcua.passwordPresent = token.passwordPresent;
      if (token.encryptionAlgorithm !== undefined) opcua.encryptionAlgorithm = token.encryptionAlgorithm;
      if (token.certificate instanceof Uint8Array) opcua.userCertificate = parseCertificate(token.certificate);
    }
    if (tx.serviceResult >= 0) {
      opcua.serviceResult = tx.serviceResult;
      opcua.serviceResultName = tx.serviceResultName || statusCodeHex(tx.serviceResult);
      opcua.activated = tx.serviceResult === 0;
    }
    const tsSec = tx.responseTsSec >= 0 ? tx.responseTsSec : tx.requestTsSec;
    const tsNsec = tx.responseTsSec >= 0 ? tx.responseTsNsec : tx.requestTsNsec;
    const event = factory.base(this.flow, 'opcua.session', 'opcua', tsSec, tsNsec, { opcua });
    if (this.events !== null) this.events.emit(event);
    if (rules !== null) {
      const record = { ...opcua, securityPolicy: policyShortName(this.posture.policyUri) };
      this.rareRules(rules, K_OPCUA_SESSION, record, event, tsSec, tsNsec);
    }
  }
}

/** Drops raw byte views (certificates kept for parsing) from decoded bodies before they go into JSON. */
function jsonSafe(value: unknown): unknown {
  if (value instanceof Uint8Array) return { length: value.length };
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}

/** The OPC UA module with its parser options (caps); `opcuaModule` uses the defaults. */
export function createOpcuaModule(options: OpcuaParserOptions = {}): AppModule<OpcuaCounters> {
  return {
    name: 'opcua',
    ports: [OPCUA_PORT],
    probe(buf: Uint8Array, off: number, len: number, _onRegisteredPort: boolean): 0 | 1 | 2 {
      return probeOpcua(buf, off, len, options.maxChunkSize);
    },
    createCounters: () => new OpcuaCounters(),
    createFlowApp: (flow: Flow, ctx: AppContext<OpcuaCounters>): FlowApp => new OpcuaFlowApp(flow, ctx, options),
    summarise: (counters: OpcuaCounters) => ({ opcua: counters.toJSON() }),
    merge: mergeOpcuaCounters,
  };
}

export const opcuaModule: AppModule<OpcuaCounters> = createOpcuaModule();
