/**
 * OPC UA Binary (UA Connection Protocol + UA Secure Conversation) constants: message types, chunk types, limits and
 * the small enumerations the decoders name. NodeIds and status codes are not here: they come from the generated
 * tables (generated/, see names.ts).
 */

/** Message types as numbers (index into MESSAGE_TYPE_NAMES); -1 = not a UACP message type. */
export const MT_HEL = 0;
export const MT_ACK = 1;
export const MT_ERR = 2;
export const MT_RHE = 3;
export const MT_OPN = 4;
export const MT_MSG = 5;
export const MT_CLO = 6;
export const MESSAGE_TYPE_COUNT = 7;
export const MESSAGE_TYPE_NAMES: readonly string[] = ['HEL', 'ACK', 'ERR', 'RHE', 'OPN', 'MSG', 'CLO'];

/** Chunk type bytes: 'F' final, 'C' intermediate, 'A' abort. */
export const CHUNK_FINAL = 0x46;
export const CHUNK_INTERMEDIATE = 0x43;
export const CHUNK_ABORT = 0x41;

/** Bytes of the UACP message header: type (3), chunk type (1), message size (4). */
export const UACP_HEADER_LEN = 8;
/** Smallest legal size per message type (header + fixed fields). */
export const MIN_SIZE: readonly number[] = [
  32, // HEL: version, receive/send buffer, max message size, max chunk count, endpoint url length
  28, // ACK: version, receive/send buffer, max message size, max chunk count
  16, // ERR: error code, reason length
  16, // RHE: server uri length, endpoint url length
  24, // OPN: channel id, policy uri length, certificate length, thumbprint length, sequence header (≥ 8)
  24, // MSG: channel id, token id, sequence number, request id, (body)
  24, // CLO: as MSG
];
/** Spec minimum for negotiated buffer sizes (Part 6 §7.1.2.3). */
export const MIN_BUFFER_SIZE = 8192;

/** Default cap on one chunk's size: larger is treated as a framing error (hostile or not OPC UA). */
export const DEFAULT_MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** Default cap on bytes buffered for one chunk split across segments; larger chunks are counted header-only. */
export const DEFAULT_MAX_BUFFERED_CHUNK = 1024 * 1024;
/** Default cap on a reassembled multi-chunk message. */
export const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;
/** Default cap on chunks of one message. */
export const DEFAULT_MAX_CHUNK_COUNT = 512;
export const DEFAULT_MAX_OPEN_REQUESTS = 1024;
export const DEFAULT_REQUEST_TIMEOUT_SEC = 60;

export const SECURITY_POLICY_PREFIX = 'http://opcfoundation.org/UA/SecurityPolicy#';
export const SECURITY_POLICY_NONE = `${SECURITY_POLICY_PREFIX}None`;
/** Policies the OPC Foundation deprecated (SHA-1 / weak RSA padding): posture rules flag these. */
export const DEPRECATED_SECURITY_POLICIES: readonly string[] = [
  `${SECURITY_POLICY_PREFIX}Basic128Rsa15`,
  `${SECURITY_POLICY_PREFIX}Basic256`,
];

export const SECURITY_MODE_NAMES: readonly string[] = ['Invalid', 'None', 'Sign', 'SignAndEncrypt'];
export const SECURITY_TOKEN_REQUEST_TYPE_NAMES: readonly string[] = ['Issue', 'Renew'];
export const APPLICATION_TYPE_NAMES: readonly string[] = ['Server', 'Client', 'ClientAndServer', 'DiscoveryServer'];
export const USER_TOKEN_TYPE_NAMES: readonly string[] = ['Anonymous', 'UserName', 'Certificate', 'IssuedToken'];
export const TIMESTAMPS_TO_RETURN_NAMES: readonly string[] = ['Source', 'Server', 'Both', 'Neither', 'Invalid'];
export const BROWSE_DIRECTION_NAMES: readonly string[] = ['Forward', 'Inverse', 'Both', 'Invalid'];
export const MONITORING_MODE_NAMES: readonly string[] = ['Disabled', 'Sampling', 'Reporting'];

/** Attribute ids (Part 6 Annex A.1), index = id. */
export const ATTRIBUTE_NAMES: readonly string[] = [
  '',
  'NodeId',
  'NodeClass',
  'BrowseName',
  'DisplayName',
  'Description',
  'WriteMask',
  'UserWriteMask',
  'IsAbstract',
  'Symmetric',
  'InverseName',
  'ContainsNoLoops',
  'EventNotifier',
  'Value',
  'DataType',
  'ValueRank',
  'ArrayDimensions',
  'AccessLevel',
  'UserAccessLevel',
  'MinimumSamplingInterval',
  'Historizing',
  'Executable',
  'UserExecutable',
  'DataTypeDefinition',
  'RolePermissions',
  'UserRolePermissions',
  'AccessRestrictions',
  'AccessLevelEx',
];

/** Built-in type ids of Variant (Part 6 §5.1.2), index = id. */
export const BUILTIN_TYPE_NAMES: readonly string[] = [
  'Null',
  'Boolean',
  'SByte',
  'Byte',
  'Int16',
  'UInt16',
  'Int32',
  'UInt32',
  'Int64',
  'UInt64',
  'Float',
  'Double',
  'String',
  'DateTime',
  'Guid',
  'ByteString',
  'XmlElement',
  'NodeId',
  'ExpandedNodeId',
  'StatusCode',
  'QualifiedName',
  'LocalizedText',
  'ExtensionObject',
  'DataValue',
  'Variant',
  'DiagnosticInfo',
];

/** Message type of the 3 ASCII bytes at b[i..i+3), or -1. Allocation-free. */
export function messageTypeAt(b: Uint8Array, i: number): number {
  const c0 = b[i];
  const c1 = b[i + 1];
  const c2 = b[i + 2];
  switch (c0) {
    case 0x48: // H
      return c1 === 0x45 && c2 === 0x4c ? MT_HEL : -1;
    case 0x41: // A
      return c1 === 0x43 && c2 === 0x4b ? MT_ACK : -1;
    case 0x45: // E
      return c1 === 0x52 && c2 === 0x52 ? MT_ERR : -1;
    case 0x52: // R
      return c1 === 0x48 && c2 === 0x45 ? MT_RHE : -1;
    case 0x4f: // O
      return c1 === 0x50 && c2 === 0x4e ? MT_OPN : -1;
    case 0x4d: // M
      return c1 === 0x53 && c2 === 0x47 ? MT_MSG : -1;
    case 0x43: // C
      return c1 === 0x4c && c2 === 0x4f ? MT_CLO : -1;
    default:
      return -1;
  }
}

/** Little-endian u32 at b[i]; missing bytes read as 0. */
export function readU32(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24)) >>> 0;
}

/**
 * Judges the 8-byte UACP header at b[i]: the chunk size when it is plausible, else 0.
 * Plausible: a known message type, chunk type F (or C/A for OPN/MSG/CLO — only MSG may really be split, but
 * tshark and stacks accept it), and a size between the type's minimum and `maxChunkSize`.
 */
export function plausibleChunkSize(b: Uint8Array, i: number, maxChunkSize: number): number {
  const mt = messageTypeAt(b, i);
  if (mt < 0) return 0;
  const ct = b[i + 3];
  if (ct !== CHUNK_FINAL && (mt < MT_OPN || (ct !== CHUNK_INTERMEDIATE && ct !== CHUNK_ABORT))) return 0;
  const size = readU32(b, i + 4);
  const min = ct === CHUNK_ABORT ? 16 : (MIN_SIZE[mt] ?? UACP_HEADER_LEN);
  if (size < min || size > maxChunkSize) return 0;
  return size;
}
