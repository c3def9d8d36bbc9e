/**
 * Decoders for OPC UA Binary bodies (Part 4 services, Part 6 encoding) into plain JSON-ready objects. Pure, bounded
 * and never throwing: every wire length is checked against the bytes left, arrays are cut to `maxItems` in the output
 * (but fully walked so later fields stay aligned), recursion is depth-limited, and a body that ends early yields what
 * was decoded plus `truncated: true`. These allocate, so the parser calls them only when events are wanted or for
 * the rare identity-bearing messages (GetEndpoints, FindServers, CreateSession, ActivateSession).
 *
 * Secrets are never decoded into output: passwords, token data, nonces and signatures are reported as their length.
 */
import {
  APPLICATION_TYPE_NAMES,
  ATTRIBUTE_NAMES,
  BROWSE_DIRECTION_NAMES,
  BUILTIN_TYPE_NAMES,
  MONITORING_MODE_NAMES,
  SECURITY_MODE_NAMES,
  SECURITY_TOKEN_REQUEST_TYPE_NAMES,
  TIMESTAMPS_TO_RETURN_NAMES,
  USER_TOKEN_TYPE_NAMES,
} from './constants.ts';
import { encodingId, encodingName, statusCodeName } from './names.ts';
import { UaReader } from './reader.ts';

export interface DecodeOptions {
  /** Items kept per array in the output (default 64). */
  maxItems?: number;
  /** Characters kept per string (default 1024). */
  maxString?: number;
}

export type Decoded = Record<string, unknown>;

const MAX_DEPTH = 8;

class Ctx {
  readonly r: UaReader;
  constructor(
    readonly maxItems: number,
    maxString: number,
  ) {
    this.r = new UaReader(maxString);
  }
}

function ctxFor(options: DecodeOptions): Ctx {
  return new Ctx(Math.max(0, options.maxItems ?? 64), Math.max(16, options.maxString ?? 1024));
}

// ------------------------------------------------------------------------------------------------------------------
// Built-in types

function hexOf(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] ?? 0).toString(16).padStart(2, '0');
  return s;
}

function guid(r: UaReader): string {
  if (!r.has(16)) return '';
  const d1 = r.u32().toString(16).padStart(8, '0');
  const d2 = r.u16().toString(16).padStart(4, '0');
  const d3 = r.u16().toString(16).padStart(4, '0');
  const rest = hexOf(r.buf.subarray(r.pos, r.pos + 8));
  r.pos += 8;
  return `${d1}-${d2}-${d3}-${rest.slice(0, 4)}-${rest.slice(4)}`;
}

/** NodeId in the standard text form (`i=631`, `ns=2;s=Temp`, `ns=1;g=…`, `ns=1;b=<base64>`). */
export function nodeId(r: UaReader, mask = r.u8()): string {
  switch (mask & 0x0f) {
    case 0:
      return `i=${r.u8()}`;
    case 1: {
      const ns = r.u8();
      const id = r.u16();
      return ns === 0 ? `i=${id}` : `ns=${ns};i=${id}`;
    }
    case 2: {
      const ns = r.u16();
      const id = r.u32();
      return ns === 0 ? `i=${id}` : `ns=${ns};i=${id}`;
    }
    case 3: {
      const ns = r.u16();
      const s = r.string() ?? '';
      return ns === 0 ? `s=${s}` : `ns=${ns};s=${s}`;
    }
    case 4: {
      const ns = r.u16();
      const g = guid(r);
      return ns === 0 ? `g=${g}` : `ns=${ns};g=${g}`;
    }
    case 5: {
      const ns = r.u16();
      const b = r.byteString();
      const text = b === null ? '' : Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, 256)).toString('base64');
      return ns === 0 ? `b=${text}` : `ns=${ns};b=${text}`;
    }
    default:
      r.ok = false;
      r.pos = r.end;
      return '';
  }
}

/** Numeric id of a namespace-0 numeric NodeId, else -1 (reads the NodeId either way). */
export function numericNodeId(r: UaReader): number {
  const mask = r.u8();
  switch (mask & 0x0f) {
    case 0:
      return r.u8();
    case 1: {
      const ns = r.u8();
      const id = r.u16();
      return ns === 0 ? id : -1;
    }
    case 2: {
      const ns = r.u16();
      const id = r.u32();
      return ns === 0 ? id : -1;
    }
    default:
      nodeId(r, mask);
      return -1;
  }
}

export function expandedNodeId(r: UaReader): string {
  const mask = r.u8();
  const id = nodeId(r, mask);
  let text = id;
  if ((mask & 0x80) !== 0) text = `nsu=${r.string() ?? ''};${id.replace(/^ns=\d+;/, '')}`;
  if ((mask & 0x40) !== 0) text = `svr=${r.u32()};${text}`;
  return text;
}

function qualifiedName(r: UaReader): string {
  const ns = r.u16();
  const name = r.string() ?? '';
  return ns === 0 ? name : `${ns}:${name}`;
}

function localizedText(r: UaReader): { locale?: string; text: string | null } {
  const mask = r.u8();
  const out: { locale?: string; text: string | null } = { text: null };
  if ((mask & 0x01) !== 0) out.locale = r.string() ?? '';
  if ((mask & 0x02) !== 0) out.text = r.string();
  return out;
}

function statusCode(code: number): { code: number; name: string } {
  return { code, name: statusCodeName(code) || `0x${code.toString(16).padStart(8, '0')}` };
}

function skipDiagnosticInfo(r: UaReader, depth: number): void {
  const mask = r.u8();
  if ((mask & 0x01) !== 0) r.skip(4);
  if ((mask & 0x02) !== 0) r.skip(4);
  if ((mask & 0x08) !== 0) r.skip(4);
  if ((mask & 0x04) !== 0) r.skip(4);
  if ((mask & 0x10) !== 0) r.skipString();
  if ((mask & 0x20) !== 0) r.skip(4);
  if ((mask & 0x40) !== 0) {
    if (depth >= MAX_DEPTH) {
      r.ok = false;
      r.pos = r.end;
      return;
    }
    skipDiagnosticInfo(r, depth + 1);
  }
}

export interface ExtensionObjectView {
  typeId: string;
  /** Numeric ns=0 type id (binary encoding id), or -1. */
  typeNumeric: number;
  encoding: number;
  body: Uint8Array | null;
}

export function extensionObject(r: UaReader): ExtensionObjectView {
  const start = r.pos;
  const typeNumeric = numericNodeId(r);
  const end = r.pos;
  r.pos = start;
  const typeId = nodeId(r);
  r.pos = end;
  const encoding = r.u8();
  const body = encoding === 1 || encoding === 2 ? r.byteString() : null;
  return { typeId, typeNumeric, encoding, body };
}

/** Reads an array with `item` for each element: keeps the first maxItems, walks the rest. */
function array<T>(c: Ctx, item: (c: Ctx) => T, minItemBytes = 1): { count: number; items: T[] } {
  const n = c.r.length(minItemBytes);
  const items: T[] = [];
  if (n <= 0) return { count: n, items };
  for (let i = 0; i < n && c.r.ok; i++) {
    const v = item(c);
    if (i < c.maxItems) items.push(v);
  }
  return { count: n, items };
}

function strings(c: Ctx): (string | null)[] {
  return array(c, (cc) => cc.r.string(), 4).items;
}

function statusCodes(c: Ctx): { code: number; name: string }[] {
  return array(c, (cc) => statusCode(cc.r.u32()), 4).items;
}

function skipDiagnosticInfos(c: Ctx): void {
  array(c, (cc) => skipDiagnosticInfo(cc.r, 0));
}

// ------------------------------------------------------------------------------------------------------------------
// Variant / DataValue

const MAX_ARRAY_IN_VARIANT = 32;

function scalar(c: Ctx, type: number, depth: number): unknown {
  const r = c.r;
  switch (type) {
    case 0:
      return null;
    case 1:
      return r.bool();
    case 2:
      return (r.u8() << 24) >> 24;
    case 3:
      return r.u8();
    case 4:
      return (r.u16() << 16) >> 16;
    case 5:
      return r.u16();
    case 6:
      return r.i32();
    case 7:
      return r.u32();
    case 8:
      return r.i64();
    case 9:
      return r.u64();
    case 10:
      return r.f32();
    case 11:
      return r.f64();
    case 12:
    case 16:
      return r.string();
    case 13:
      return r.dateTime();
    case 14:
      return guid(r);
    case 15: {
      const b = r.byteString();
      return b === null ? null : { length: b.length };
    }
    case 17:
      return nodeId(r);
    case 18:
      return expandedNodeId(r);
    case 19:
      return statusCode(r.u32());
    case 20:
      return qualifiedName(r);
    case 21:
      return localizedText(r);
    case 22: {
      const eo = extensionObject(r);
      const name = eo.typeNumeric >= 0 ? encodingName(eo.typeNumeric) : '';
      return { typeId: eo.typeId, ...(name ? { typeName: name } : {}), length: eo.body?.length ?? 0 };
    }
    case 23:
      return depth < MAX_DEPTH ? dataValue(c, depth + 1) : fail(r);
    case 24:
      return depth < MAX_DEPTH ? variant(c, depth + 1) : fail(r);
    case 25:
      skipDiagnosticInfo(r, depth);
      return null;
    default:
      return fail(r);
  }
}

function fail(r: UaReader): null {
  r.ok = false;
  r.pos = r.end;
  return null;
}

export interface VariantValue {
  type: number;
  typeName: string;
  value?: unknown;
  array?: unknown[];
  length?: number;
}

/** Variant with its built-in type; scalars typed, arrays cut to a few values (with the full length). */
export function variant(c: Ctx, depth = 0): VariantValue {
  const r = c.r;
  const mask = r.u8();
  const type = mask & 0x3f;
  const out: VariantValue = { type, typeName: BUILTIN_TYPE_NAMES[type] ?? `type${type}` };
  if ((mask & 0x80) !== 0) {
    const n = r.length(1);
    const values: unknown[] = [];
    for (let i = 0; i < n && r.ok; i++) {
      const v = scalar(c, type, depth);
      if (i < MAX_ARRAY_IN_VARIANT) values.push(v);
    }
    out.array = values;
    out.length = n;
    if ((mask & 0x40) !== 0) array(c, (cc) => cc.r.i32(), 4);
  } else {
    out.value = scalar(c, type, depth);
  }
  return out;
}

export function dataValue(c: Ctx, depth = 0): Decoded {
  const r = c.r;
  const mask = r.u8();
  const out: Decoded = {};
  if ((mask & 0x01) !== 0) out.value = variant(c, depth);
  if ((mask & 0x02) !== 0) out.status = statusCode(r.u32());
  if ((mask & 0x04) !== 0) out.sourceTimestamp = r.dateTime();
  if ((mask & 0x10) !== 0) r.skip(2);
  if ((mask & 0x08) !== 0) out.serverTimestamp = r.dateTime();
  if ((mask & 0x20) !== 0) r.skip(2);
  return out;
}

// ------------------------------------------------------------------------------------------------------------------
// Headers and common structures

export function requestHeader(c: Ctx): Decoded {
  const r = c.r;
  const authenticationToken = nodeId(r);
  const timestamp = r.dateTime();
  const requestHandle = r.u32();
  const returnDiagnostics = r.u32();
  const auditEntryId = r.string();
  const timeoutHint = r.u32();
  extensionObject(r);
  return {
    // The token is a session secret in practice: report only whether one was sent.
    hasAuthenticationToken: authenticationToken !== 'i=0',
    timestamp,
    requestHandle,
    returnDiagnostics,
    ...(auditEntryId ? { auditEntryId } : {}),
    timeoutHint,
  };
}

export function responseHeader(c: Ctx): Decoded {
  const r = c.r;
  const timestamp = r.dateTime();
  const requestHandle = r.u32();
  const result = r.u32();
  skipDiagnosticInfo(r, 0);
  strings(c);
  extensionObject(r);
  return { timestamp, requestHandle, serviceResult: statusCode(result) };
}

export interface ApplicationDescription {
  applicationUri: string | null;
  productUri: string | null;
  applicationName: string | null;
  applicationType: number;
  applicationTypeName: string;
  gatewayServerUri: string | null;
  discoveryProfileUri: string | null;
  discoveryUrls: (string | null)[];
}

export function applicationDescription(c: Ctx): ApplicationDescription {
  const r = c.r;
  const applicationUri = r.string();
  const productUri = r.string();
  const applicationName = localizedText(r).text;
  const applicationType = r.u32();
  const gatewayServerUri = r.string();
  const discoveryProfileUri = r.string();
  const discoveryUrls = strings(c);
  return {
    applicationUri,
    productUri,
    applicationName,
    applicationType,
    applicationTypeName: APPLICATION_TYPE_NAMES[applicationType] ?? 'Invalid',
    gatewayServerUri,
    discoveryProfileUri,
    discoveryUrls,
  };
}

function userTokenPolicy(c: Ctx): Decoded {
  const r = c.r;
  const policyId = r.string();
  const tokenType = r.u32();
  const issuedTokenType = r.string();
  const issuerEndpointUrl = r.string();
  const securityPolicyUri = r.string();
  return {
    policyId,
    tokenType,
    tokenTypeName: USER_TOKEN_TYPE_NAMES[tokenType] ?? 'Invalid',
    ...(issuedTokenType ? { issuedTokenType } : {}),
    ...(issuerEndpointUrl ? { issuerEndpointUrl } : {}),
    securityPolicyUri,
  };
}

export interface EndpointDescription {
  endpointUrl: string | null;
  server: ApplicationDescription;
  serverCertificateLength: number;
  /** The DER certificate bytes (a view), for thumbprints; not serialised. */
  serverCertificate?: Uint8Array;
  securityMode: number;
  securityModeName: string;
  securityPolicyUri: string | null;
  userIdentityTokens: Decoded[];
  transportProfileUri: string | null;
  securityLevel: number;
}

function endpointDescription(c: Ctx): EndpointDescription {
  const r = c.r;
  const endpointUrl = r.string();
  const server = applicationDescription(c);
  const cert = r.byteString();
  const securityMode = r.u32();
  const securityPolicyUri = r.string();
  const userIdentityTokens = array(c, userTokenPolicy).items;
  const transportProfileUri = r.string();
  const securityLevel = r.u8();
  return {
    endpointUrl,
    server,
    serverCertificateLength: cert?.length ?? -1,
    securityMode,
    securityModeName: SECURITY_MODE_NAMES[securityMode] ?? 'Invalid',
    securityPolicyUri,
    userIdentityTokens,
    transportProfileUri,
    securityLevel,
  };
}

function signatureData(c: Ctx): Decoded {
  const algorithm = c.r.string();
  const signature = c.r.byteString();
  return { algorithm, signatureLength: signature?.length ?? -1 };
}

function signedSoftwareCertificate(c: Ctx): Decoded {
  const cert = c.r.byteString();
  const sig = c.r.byteString();
  return { certificateLength: cert?.length ?? -1, signatureLength: sig?.length ?? -1 };
}

function readValueId(c: Ctx): Decoded {
  const r = c.r;
  const node = nodeId(r);
  const attributeId = r.u32();
  const indexRange = r.string();
  const dataEncoding = qualifiedName(r);
  return {
    nodeId: node,
    attributeId,
    attributeName: ATTRIBUTE_NAMES[attributeId] ?? 'Invalid',
    ...(indexRange ? { indexRange } : {}),
    ...(dataEncoding ? { dataEncoding } : {}),
  };
}

function browseResult(c: Ctx): Decoded {
  const r = c.r;
  const status = statusCode(r.u32());
  const continuationPoint = r.byteString();
  const references = array(c, (cc) => {
    const referenceTypeId = nodeId(cc.r);
    const isForward = cc.r.bool();
    const target = expandedNodeId(cc.r);
    const browseName = qualifiedName(cc.r);
    const displayName = localizedText(cc.r).text;
    const nodeClass = cc.r.u32();
    const typeDefinition = expandedNodeId(cc.r);
    return { referenceTypeId, isForward, nodeId: target, browseName, displayName, nodeClass, typeDefinition };
  });
  return {
    status,
    hasContinuationPoint: continuationPoint !== null && continuationPoint.length > 0,
    referenceCount: references.count,
    references: references.items,
  };
}

// ------------------------------------------------------------------------------------------------------------------
// Services: each decoder reads the body after the service NodeId.

type BodyDecoder = (c: Ctx) => Decoded;

function withRequest(body: (c: Ctx) => Decoded): BodyDecoder {
  return (c) => ({ requestHeader: requestHeader(c), ...body(c) });
}

function withResponse(body: (c: Ctx) => Decoded): BodyDecoder {
  return (c) => ({ responseHeader: responseHeader(c), ...body(c) });
}

const resultsOnly = withResponse((c) => {
  const results = statusCodes(c);
  skipDiagnosticInfos(c);
  return { results };
});

/** Identity token type names by binary encoding id (from the generated table). */
const IDENTITY_TOKENS: ReadonlyMap<number, string> = new Map([
  [encodingId('AnonymousIdentityToken'), 'Anonymous'],
  [encodingId('UserNameIdentityToken'), 'UserName'],
  [encodingId('X509IdentityToken'), 'X509'],
  [encodingId('IssuedIdentityToken'), 'IssuedToken'],
]);

function identityToken(c: Ctx): Decoded {
  const eo = extensionObject(c.r);
  const tokenType = IDENTITY_TOKENS.get(eo.typeNumeric) ?? 'Unknown';
  const out: Decoded = { typeId: eo.typeId, tokenType };
  if (eo.body === null || tokenType === 'Unknown') return out;
  const r = new UaReader(c.r.maxString).reset(eo.body, 0, eo.body.length);
  out.policyId = r.string();
  if (tokenType === 'UserName') {
    out.userName = r.string();
    const password = r.byteString();
    // Never the password: only whether one is there, its length and how it is protected.
    out.passwordPresent = password !== null && password.length > 0;
    out.passwordLength = password?.length ?? -1;
    out.encryptionAlgorithm = r.string();
  } else if (tokenType === 'X509') {
    const cert = r.byteString();
    out.certificateLength = cert?.length ?? -1;
    if (cert !== null) out.certificate = cert;
  } else if (tokenType === 'IssuedToken') {
    const data = r.byteString();
    out.tokenDataLength = data?.length ?? -1;
    out.encryptionAlgorithm = r.string();
  }
  if (!r.ok) out.truncated = true;
  return out;
}

const DECODERS = new Map<number, BodyDecoder>();
function def(name: string, decoder: BodyDecoder): void {
  DECODERS.set(encodingId(name), decoder);
}

def(
  'OpenSecureChannelRequest',
  withRequest((c) => {
    const r = c.r;
    const clientProtocolVersion = r.u32();
    const requestType = r.u32();
    const securityMode = r.u32();
    const nonce = r.byteString();
    const requestedLifetime = r.u32();
    return {
      clientProtocolVersion,
      requestType,
      requestTypeName: SECURITY_TOKEN_REQUEST_TYPE_NAMES[requestType] ?? 'Invalid',
      securityMode,
      securityModeName: SECURITY_MODE_NAMES[securityMode] ?? 'Invalid',
      clientNonceLength: nonce?.length ?? -1,
      requestedLifetime,
    };
  }),
);
def(
  'OpenSecureChannelResponse',
  withResponse((c) => {
    const r = c.r;
    const serverProtocolVersion = r.u32();
    const channelId = r.u32();
    const tokenId = r.u32();
    const createdAt = r.dateTime();
    const revisedLifetime = r.u32();
    const nonce = r.byteString();
    return {
      serverProtocolVersion,
      securityToken: { channelId, tokenId, createdAt, revisedLifetime },
      serverNonceLength: nonce?.length ?? -1,
    };
  }),
);
def(
  'CloseSecureChannelRequest',
  withRequest(() => ({})),
);
def(
  'GetEndpointsRequest',
  withRequest((c) => ({ endpointUrl: c.r.string(), localeIds: strings(c), profileUris: strings(c) })),
);
def(
  'GetEndpointsResponse',
  withResponse((c) => {
    const endpoints = array(c, endpointDescription);
    return { endpointCount: endpoints.count, endpoints: endpoints.items };
  }),
);
def(
  'FindServersRequest',
  withRequest((c) => ({ endpointUrl: c.r.string(), localeIds: strings(c), serverUris: strings(c) })),
);
def(
  'FindServersResponse',
  withResponse((c) => {
    const servers = array(c, applicationDescription);
    return { serverCount: servers.count, servers: servers.items };
  }),
);
def(
  'CreateSessionRequest',
  withRequest((c) => {
    const r = c.r;
    const clientDescription = applicationDescription(c);
    const serverUri = r.string();
    const endpointUrl = r.string();
    const sessionName = r.string();
    const nonce = r.byteString();
    const cert = r.byteString();
    const requestedSessionTimeout = r.f64();
    const maxResponseMessageSize = r.u32();
    return {
      clientDescription,
      serverUri,
      endpointUrl,
      sessionName,
      clientNonceLength: nonce?.length ?? -1,
      clientCertificateLength: cert?.length ?? -1,
      ...(cert !== null && cert.length > 0 ? { clientCertificate: cert } : {}),
      requestedSessionTimeout,
      maxResponseMessageSize,
    };
  }),
);
def(
  'CreateSessionResponse',
  withResponse((c) => {
    const r = c.r;
    const sessionId = nodeId(r);
    nodeId(r); // authentication token: a session secret, not reported
    const revisedSessionTimeout = r.f64();
    const nonce = r.byteString();
    const cert = r.byteString();
    const endpoints = array(c, endpointDescription);
    array(c, signedSoftwareCertificate);
    const serverSignature = signatureData(c);
    const maxRequestMessageSize = r.u32();
    return {
      sessionId,
      revisedSessionTimeout,
      serverNonceLength: nonce?.length ?? -1,
      serverCertificateLength: cert?.length ?? -1,
      ...(cert !== null && cert.length > 0 ? { serverCertificate: cert } : {}),
      serverEndpoints: endpoints.items,
      serverSignature,
      maxRequestMessageSize,
    };
  }),
);
def(
  'ActivateSessionRequest',
  withRequest((c) => {
    const clientSignature = signatureData(c);
    array(c, signedSoftwareCertificate);
    const localeIds = strings(c);
    const userIdentityToken = identityToken(c);
    const userTokenSignature = signatureData(c);
    return { clientSignature, localeIds, userIdentityToken, userTokenSignature };
  }),
);
def(
  'ActivateSessionResponse',
  withResponse((c) => {
    const nonce = c.r.byteString();
    const results = statusCodes(c);
    skipDiagnosticInfos(c);
    return { serverNonceLength: nonce?.length ?? -1, results };
  }),
);
def(
  'CloseSessionRequest',
  withRequest((c) => ({ deleteSubscriptions: c.r.bool() })),
);
def(
  'CloseSessionResponse',
  withResponse(() => ({})),
);
def(
  'CancelRequest',
  withRequest((c) => ({ requestHandle: c.r.u32() })),
);
def(
  'CancelResponse',
  withResponse((c) => ({ cancelCount: c.r.u32() })),
);
def(
  'ReadRequest',
  withRequest((c) => {
    const maxAge = c.r.f64();
    const ttr = c.r.u32();
    const nodes = array(c, readValueId);
    return {
      maxAge,
      timestampsToReturn: ttr,
      timestampsToReturnName: TIMESTAMPS_TO_RETURN_NAMES[ttr] ?? 'Invalid',
      nodeCount: nodes.count,
      nodesToRead: nodes.items,
    };
  }),
);
def(
  'ReadResponse',
  withResponse((c) => {
    const results = array(c, (cc) => dataValue(cc));
    skipDiagnosticInfos(c);
    return { resultCount: results.count, results: results.items };
  }),
);
def(
  'WriteRequest',
  withRequest((c) => {
    const nodes = array(c, (cc) => {
      const node = nodeId(cc.r);
      const attributeId = cc.r.u32();
      const indexRange = cc.r.string();
      return {
        nodeId: node,
        attributeId,
        attributeName: ATTRIBUTE_NAMES[attributeId] ?? 'Invalid',
        ...(indexRange ? { indexRange } : {}),
        value: dataValue(cc),
      };
    });
    return { nodeCount: nodes.count, nodesToWrite: nodes.items };
  }),
);
def('WriteResponse', resultsOnly);
def(
  'CallRequest',
  withRequest((c) => {
    const methods = array(c, (cc) => {
      const objectId = nodeId(cc.r);
      const methodId = nodeId(cc.r);
      const args = array(cc, (c3) => variant(c3));
      return { objectId, methodId, argumentCount: args.count, inputArguments: args.items };
    });
    return { methodCount: methods.count, methodsToCall: methods.items };
  }),
);
def(
  'CallResponse',
  withResponse((c) => {
    const results = array(c, (cc) => {
      const status = statusCode(cc.r.u32());
      const inputArgumentResults = statusCodes(cc);
      skipDiagnosticInfos(cc);
      const outputs = array(cc, (c3) => variant(c3));
      return { status, inputArgumentResults, outputArgumentCount: outputs.count, outputArguments: outputs.items };
    });
    skipDiagnosticInfos(c);
    return { results: results.items };
  }),
);
def(
  'BrowseRequest',
  withRequest((c) => {
    const r = c.r;
    const viewId = nodeId(r);
    r.dateTime();
    r.u32();
    const requestedMaxReferencesPerNode = r.u32();
    const nodes = array(c, (cc) => {
      const node = nodeId(cc.r);
      const direction = cc.r.u32();
      const referenceTypeId = nodeId(cc.r);
      const includeSubtypes = cc.r.bool();
      const nodeClassMask = cc.r.u32();
      const resultMask = cc.r.u32();
      return {
        nodeId: node,
        browseDirection: BROWSE_DIRECTION_NAMES[direction] ?? 'Invalid',
        referenceTypeId,
        includeSubtypes,
        nodeClassMask,
        resultMask,
      };
    });
    return { viewId, requestedMaxReferencesPerNode, nodeCount: nodes.count, nodesToBrowse: nodes.items };
  }),
);
def(
  'BrowseResponse',
  withResponse((c) => {
    const results = array(c, browseResult);
    skipDiagnosticInfos(c);
    return { results: results.items };
  }),
);
def(
  'BrowseNextRequest',
  withRequest((c) => {
    const releaseContinuationPoints = c.r.bool();
    const points = array(c, (cc) => cc.r.skipString(), 4);
    return { releaseContinuationPoints, continuationPointCount: points.count };
  }),
);
def(
  'BrowseNextResponse',
  withResponse((c) => {
    const results = array(c, browseResult);
    skipDiagnosticInfos(c);
    return { results: results.items };
  }),
);
def(
  'TranslateBrowsePathsToNodeIdsRequest',
  withRequest((c) => {
    const paths = array(c, (cc) => {
      const startingNode = nodeId(cc.r);
      const elements = array(cc, (c3) => {
        const referenceTypeId = nodeId(c3.r);
        const isInverse = c3.r.bool();
        const includeSubtypes = c3.r.bool();
        const targetName = qualifiedName(c3.r);
        return { referenceTypeId, isInverse, includeSubtypes, targetName };
      });
      return { startingNode, elements: elements.items };
    });
    return { pathCount: paths.count, browsePaths: paths.items };
  }),
);
def(
  'TranslateBrowsePathsToNodeIdsResponse',
  withResponse((c) => {
    const results = array(c, (cc) => {
      const status = statusCode(cc.r.u32());
      const targets = array(cc, (c3) => ({ targetId: expandedNodeId(c3.r), remainingPathIndex: c3.r.u32() }));
      return { status, targets: targets.items };
    });
    skipDiagnosticInfos(c);
    return { results: results.items };
  }),
);
def(
  'AddNodesRequest',
  withRequest((c) => {
    const nodes = array(c, (cc) => {
      const r = cc.r;
      const parentNodeId = expandedNodeId(r);
      const referenceTypeId = nodeId(r);
      const requestedNewNodeId = expandedNodeId(r);
      const browseName = qualifiedName(r);
      const nodeClass = r.u32();
      const attributes = extensionObject(r);
      const typeDefinition = expandedNodeId(r);
      return {
        parentNodeId,
        referenceTypeId,
        requestedNewNodeId,
        browseName,
        nodeClass,
        attributesType: encodingName(attributes.typeNumeric) || attributes.typeId,
        typeDefinition,
      };
    });
    return { nodeCount: nodes.count, nodesToAdd: nodes.items };
  }),
);
def(
  'AddNodesResponse',
  withResponse((c) => {
    const results = array(c, (cc) => ({ status: statusCode(cc.r.u32()), addedNodeId: nodeId(cc.r) }));
    skipDiagnosticInfos(c);
    return { results: results.items };
  }),
);
def(
  'AddReferencesRequest',
  withRequest((c) => {
    const refs = array(c, (cc) => {
      const r = cc.r;
      const sourceNodeId = nodeId(r);
      const referenceTypeId = nodeId(r);
      const isForward = r.bool();
      const targetServerUri = r.string();
      const targetNodeId = expandedNodeId(r);
      const targetNodeClass = r.u32();
      return { sourceNodeId, referenceTypeId, isForward, targetServerUri, targetNodeId, targetNodeClass };
    });
    return { referenceCount: refs.count, referencesToAdd: refs.items };
  }),
);
def('AddReferencesResponse', resultsOnly);
def(
  'DeleteNodesRequest',
  withRequest((c) => {
    const nodes = array(c, (cc) => ({ nodeId: nodeId(cc.r), deleteTargetReferences: cc.r.bool() }));
    return { nodeCount: nodes.count, nodesToDelete: nodes.items };
  }),
);
def('DeleteNodesResponse', resultsOnly);
def(
  'DeleteReferencesRequest',
  withRequest((c) => {
    const refs = array(c, (cc) => {
      const r = cc.r;
      const sourceNodeId = nodeId(r);
      const referenceTypeId = nodeId(r);
      const isForward = r.bool();
      const targetNodeId = expandedNodeId(r);
      const deleteBidirectional = r.bool();
      return { sourceNodeId, referenceTypeId, isForward, targetNodeId, deleteBidirectional };
    });
    return { referenceCount: refs.count, referencesToDelete: refs.items };
  }),
);
def('DeleteReferencesResponse', resultsOnly);
def(
  'CreateSubscriptionRequest',
  withRequest((c) => {
    const r = c.r;
    return {
      requestedPublishingInterval: r.f64(),
      requestedLifetimeCount: r.u32(),
      requestedMaxKeepAliveCount: r.u32(),
      maxNotificationsPerPublish: r.u32(),
      publishingEnabled: r.bool(),
      priority: r.u8(),
    };
  }),
);
def(
  'CreateSubscriptionResponse',
  withResponse((c) => {
    const r = c.r;
    return {
      subscriptionId: r.u32(),
      revisedPublishingInterval: r.f64(),
      revisedLifetimeCount: r.u32(),
      revisedMaxKeepAliveCount: r.u32(),
    };
  }),
);
def(
  'DeleteSubscriptionsRequest',
  withRequest((c) => ({ subscriptionIds: array(c, (cc) => cc.r.u32(), 4).items })),
);
def('DeleteSubscriptionsResponse', resultsOnly);
def(
  'CreateMonitoredItemsRequest',
  withRequest((c) => {
    const subscriptionId = c.r.u32();
    const ttr = c.r.u32();
    const items = array(c, (cc) => {
      const item = readValueId(cc);
      const mode = cc.r.u32();
      const clientHandle = cc.r.u32();
      const samplingInterval = cc.r.f64();
      const filter = extensionObject(cc.r);
      const queueSize = cc.r.u32();
      const discardOldest = cc.r.bool();
      return {
        itemToMonitor: item,
        monitoringMode: MONITORING_MODE_NAMES[mode] ?? 'Invalid',
        clientHandle,
        samplingInterval,
        ...(filter.typeNumeric !== 0 ? { filterType: encodingName(filter.typeNumeric) || filter.typeId } : {}),
        queueSize,
        discardOldest,
      };
    });
    return {
      subscriptionId,
      timestampsToReturnName: TIMESTAMPS_TO_RETURN_NAMES[ttr] ?? 'Invalid',
      itemCount: items.count,
      itemsToCreate: items.items,
    };
  }),
);
def(
  'CreateMonitoredItemsResponse',
  withResponse((c) => {
    const results = array(c, (cc) => {
      const status = statusCode(cc.r.u32());
      const monitoredItemId = cc.r.u32();
      const revisedSamplingInterval = cc.r.f64();
      const revisedQueueSize = cc.r.u32();
      extensionObject(cc.r);
      return { status, monitoredItemId, revisedSamplingInterval, revisedQueueSize };
    });
    skipDiagnosticInfos(c);
    return { results: results.items };
  }),
);
def(
  'DeleteMonitoredItemsRequest',
  withRequest((c) => ({ subscriptionId: c.r.u32(), monitoredItemIds: array(c, (cc) => cc.r.u32(), 4).items })),
);
def('DeleteMonitoredItemsResponse', resultsOnly);
def(
  'PublishRequest',
  withRequest((c) => {
    const acks = array(c, (cc) => ({ subscriptionId: cc.r.u32(), sequenceNumber: cc.r.u32() }), 8);
    return { acknowledgements: acks.items };
  }),
);
def(
  'PublishResponse',
  withResponse((c) => {
    const r = c.r;
    const subscriptionId = r.u32();
    const available = array(c, (cc) => cc.r.u32(), 4);
    const moreNotifications = r.bool();
    const sequenceNumber = r.u32();
    const publishTime = r.dateTime();
    const data = array(c, (cc) => {
      const eo = extensionObject(cc.r);
      return encodingName(eo.typeNumeric) || eo.typeId;
    });
    const results = statusCodes(c);
    skipDiagnosticInfos(c);
    return {
      subscriptionId,
      availableSequenceNumbers: available.items,
      moreNotifications,
      notificationMessage: { sequenceNumber, publishTime, notificationData: data.items },
      results,
    };
  }),
);
def(
  'HistoryReadRequest',
  withRequest((c) => {
    const details = extensionObject(c.r);
    const ttr = c.r.u32();
    const releaseContinuationPoints = c.r.bool();
    const nodes = array(c, (cc) => {
      const node = nodeId(cc.r);
      const indexRange = cc.r.string();
      qualifiedName(cc.r);
      const cp = cc.r.byteString();
      return { nodeId: node, ...(indexRange ? { indexRange } : {}), hasContinuationPoint: (cp?.length ?? 0) > 0 };
    });
    return {
      detailsType: encodingName(details.typeNumeric) || details.typeId,
      timestampsToReturnName: TIMESTAMPS_TO_RETURN_NAMES[ttr] ?? 'Invalid',
      releaseContinuationPoints,
      nodeCount: nodes.count,
      nodesToRead: nodes.items,
    };
  }),
);
def(
  'HistoryReadResponse',
  withResponse((c) => {
    const results = array(c, (cc) => {
      const status = statusCode(cc.r.u32());
      const cp = cc.r.byteString();
      const data = extensionObject(cc.r);
      return {
        status,
        hasContinuationPoint: (cp?.length ?? 0) > 0,
        historyDataType: encodingName(data.typeNumeric) || data.typeId,
      };
    });
    skipDiagnosticInfos(c);
    return { results: results.items };
  }),
);
def(
  'HistoryUpdateRequest',
  withRequest((c) => {
    const details = array(c, (cc) => {
      const eo = extensionObject(cc.r);
      return encodingName(eo.typeNumeric) || eo.typeId;
    });
    return { detailCount: details.count, historyUpdateDetails: details.items };
  }),
);
def(
  'HistoryUpdateResponse',
  withResponse((c) => {
    const results = array(c, (cc) => {
      const status = statusCode(cc.r.u32());
      const operationResults = statusCodes(cc);
      skipDiagnosticInfos(cc);
      return { status, operationResults };
    });
    skipDiagnosticInfos(c);
    return { results: results.items };
  }),
);
def(
  'ServiceFault',
  withResponse(() => ({})),
);

const REQUEST_SUFFIX = 'Request';
const RESPONSE_SUFFIX = 'Response';

/** Whether a dedicated body decoder exists for this service id. */
export function hasBodyDecoder(serviceId: number): boolean {
  return DECODERS.has(serviceId);
}

/**
 * Decodes a service body (the bytes after the service NodeId). Services without a dedicated decoder get their
 * request/response header decoded. Never throws; returns null when the id is not a service.
 */
export function decodeServiceBody(
  serviceId: number,
  buf: Uint8Array,
  off: number,
  len: number,
  options: DecodeOptions = {},
): Decoded | null {
  const c = ctxFor(options);
  c.r.reset(buf, off, len);
  const name = encodingName(serviceId);
  let decoder = DECODERS.get(serviceId);
  if (decoder === undefined) {
    if (name.endsWith(REQUEST_SUFFIX)) decoder = withRequest(() => ({}));
    else if (name.endsWith(RESPONSE_SUFFIX)) decoder = withResponse(() => ({}));
    else return null;
  }
  try {
    const out = decoder(c);
    if (!c.r.ok) out.truncated = true;
    return out;
  } catch {
    // Defensive: decoders are written not to throw; a bug must not take the sensor down.
    return { truncated: true, decodeError: true };
  }
}

// ------------------------------------------------------------------------------------------------------------------
// UACP messages (header excluded: `off` points after the 8-byte message header)

export interface HelloMessage {
  protocolVersion: number;
  receiveBufferSize: number;
  sendBufferSize: number;
  maxMessageSize: number;
  maxChunkCount: number;
  endpointUrl: string | null;
}

export function decodeHello(buf: Uint8Array, off: number, len: number): HelloMessage {
  const r = new UaReader(4096).reset(buf, off, len);
  return {
    protocolVersion: r.u32(),
    receiveBufferSize: r.u32(),
    sendBufferSize: r.u32(),
    maxMessageSize: r.u32(),
    maxChunkCount: r.u32(),
    endpointUrl: r.string(),
  };
}

export type AcknowledgeMessage = Omit<HelloMessage, 'endpointUrl'>;

export function decodeAcknowledge(buf: Uint8Array, off: number, len: number): AcknowledgeMessage {
  const r = new UaReader().reset(buf, off, len);
  return {
    protocolVersion: r.u32(),
    receiveBufferSize: r.u32(),
    sendBufferSize: r.u32(),
    maxMessageSize: r.u32(),
    maxChunkCount: r.u32(),
  };
}

export interface ErrorMessage {
  error: number;
  errorName: string;
  reason: string | null;
}

export function decodeError(buf: Uint8Array, off: number, len: number): ErrorMessage {
  const r = new UaReader(4096).reset(buf, off, len);
  const error = r.u32();
  return { error, errorName: statusCodeName(error), reason: r.string() };
}

export interface ReverseHelloMessage {
  serverUri: string | null;
  endpointUrl: string | null;
}

export function decodeReverseHello(buf: Uint8Array, off: number, len: number): ReverseHelloMessage {
  const r = new UaReader(4096).reset(buf, off, len);
  return { serverUri: r.string(), endpointUrl: r.string() };
}

export interface AsymmetricHeader {
  securityPolicyUri: string | null;
  /** Views into the message (valid during the callback). */
  senderCertificate: Uint8Array | null;
  receiverThumbprint: Uint8Array | null;
  /** Offset just after the header (the sequence header starts here), or -1 when it did not fit. */
  end: number;
}

/** The asymmetric security header of an OPN chunk; `off` points at it (after the secure channel id). */
export function decodeAsymmetricHeader(buf: Uint8Array, off: number, len: number): AsymmetricHeader {
  const r = new UaReader(4096).reset(buf, off, len);
  const securityPolicyUri = r.string();
  const senderCertificate = r.byteString();
  const receiverThumbprint = r.byteString();
  return { securityPolicyUri, senderCertificate, receiverThumbprint, end: r.ok ? r.pos : -1 };
}

export { hexOf };
