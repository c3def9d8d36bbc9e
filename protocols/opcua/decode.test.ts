import { describe, expect, it } from 'vitest';
import { decodeAsymmetricHeader, decodeError, decodeHello, decodeServiceBody } from './decode.ts';
import { encodingId } from './names.ts';
import { hex, W } from './test-support.ts';

// A minimal RequestHeader as bytes: null auth token, DateTime 0, handle 1, no diagnostics, null audit id,
// timeout 10000, no additional header.
const REQ_HDR = `
  00 00                     # AuthenticationToken: two-byte NodeId i=0
  00 00 00 00 00 00 00 00   # Timestamp: DateTime 0
  01 00 00 00               # RequestHandle 1
  00 00 00 00               # ReturnDiagnostics 0
  ff ff ff ff               # AuditEntryId: null string
  10 27 00 00               # TimeoutHint 10000
  00 00 00                  # AdditionalHeader: ExtensionObject i=0, no body
`;
// ResponseHeader with ServiceResult 0x80340000 (BadNodeIdUnknown).
const RESP_HDR_BAD = `
  00 00 00 00 00 00 00 00   # Timestamp
  01 00 00 00               # RequestHandle 1
  00 00 34 80               # ServiceResult 0x80340000
  00                        # ServiceDiagnostics: empty DiagnosticInfo
  00 00 00 00               # StringTable: 0 strings
  00 00 00                  # AdditionalHeader: none
`;

describe('service body decoders', () => {
  it('ReadRequest: max age, timestamps, node ids and attribute names', () => {
    const body = hex(`${REQ_HDR}
      00 00 00 00 00 00 00 00   # MaxAge 0.0
      02 00 00 00               # TimestampsToReturn Both
      02 00 00 00               # NodesToRead: 2
      01 00 d2 08 0d 00 00 00   #   i=2258 (four-byte NodeId), AttributeId 13 Value
      ff ff ff ff 00 00 ff ff ff ff   # IndexRange null, DataEncoding 0:null
      03 02 00 04 00 00 00 54 65 6d 70 04 00 00 00  # ns=2;s=Temp, AttributeId 4 DisplayName
      ff ff ff ff 00 00 ff ff ff ff
    `);
    const d = decodeServiceBody(encodingId('ReadRequest'), body, 0, body.length);
    expect(d).toMatchObject({
      requestHeader: { requestHandle: 1, timeoutHint: 10000, hasAuthenticationToken: false },
      timestampsToReturnName: 'Both',
      nodeCount: 2,
      nodesToRead: [
        { nodeId: 'i=2258', attributeId: 13, attributeName: 'Value' },
        { nodeId: 'ns=2;s=Temp', attributeId: 4, attributeName: 'DisplayName' },
      ],
    });
    expect(d?.truncated).toBeUndefined();
  });

  it('WriteRequest: written values as typed scalars', () => {
    const body = hex(`${REQ_HDR}
      02 00 00 00                     # NodesToWrite: 2
      01 02 0a 00 0d 00 00 00         #   ns=2;i=10, Value
      ff ff ff ff 01 0b 00 00 00 00 00 00 f8 3f   # IndexRange null, DataValue{Variant Double 1.5}
      01 02 0b 00 0d 00 00 00         #   ns=2;i=11, Value
      ff ff ff ff 01 01 01            # DataValue{Variant Boolean true}
    `);
    const d = decodeServiceBody(encodingId('WriteRequest'), body, 0, body.length);
    expect(d).toMatchObject({
      nodeCount: 2,
      nodesToWrite: [
        { nodeId: 'ns=2;i=10', attributeName: 'Value', value: { value: { typeName: 'Double', value: 1.5 } } },
        { nodeId: 'ns=2;i=11', attributeName: 'Value', value: { value: { typeName: 'Boolean', value: true } } },
      ],
    });
  });

  it('CallRequest: object, method and argument count', () => {
    const body = hex(`${REQ_HDR}
      01 00 00 00                     # MethodsToCall: 1
      01 01 e8 03                     #   ObjectId ns=1;i=1000
      01 01 e9 03                     #   MethodId ns=1;i=1001
      02 00 00 00                     #   InputArguments: 2
      06 07 00 00 00                  #     Int32 7
      0c 02 00 00 00 68 69            #     String "hi"
    `);
    const d = decodeServiceBody(encodingId('CallRequest'), body, 0, body.length);
    expect(d).toMatchObject({
      methodCount: 1,
      methodsToCall: [
        {
          objectId: 'ns=1;i=1000',
          methodId: 'ns=1;i=1001',
          argumentCount: 2,
          inputArguments: [
            { typeName: 'Int32', value: 7 },
            { typeName: 'String', value: 'hi' },
          ],
        },
      ],
    });
  });

  it('ActivateSessionRequest: UserName token facts, never the password', () => {
    const token = new W()
      .str('user_pw')
      .str('operator')
      .bytes_(hex('de ad be ef 53 45 43 52 45 54'))
      .str('http://www.w3.org/2001/04/xmlenc#rsa-oaep');
    const tokenBytes = token.done();
    const body = new W()
      .raw(hex(REQ_HDR))
      .str(null) // ClientSignature.Algorithm
      .bytes_(null) // ClientSignature.Signature
      .u32(0) // ClientSoftwareCertificates: 0
      .u32(1)
      .str('en') // LocaleIds: ["en"]
      .nodeId(encodingId('UserNameIdentityToken')) // UserIdentityToken type
      .u8(1) // body is a ByteString
      .bytes_(tokenBytes)
      .str(null)
      .bytes_(null) // UserTokenSignature
      .done();
    const d = decodeServiceBody(encodingId('ActivateSessionRequest'), body, 0, body.length);
    expect(d?.userIdentityToken).toEqual({
      typeId: 'i=324',
      tokenType: 'UserName',
      policyId: 'user_pw',
      userName: 'operator',
      passwordPresent: true,
      passwordLength: 10,
      encryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep',
    });
    expect(JSON.stringify(d)).not.toMatch(/SECRET|deadbeef|222,173/i);
  });

  it('ServiceFault: the status code with its name', () => {
    const body = hex(RESP_HDR_BAD);
    const d = decodeServiceBody(encodingId('ServiceFault'), body, 0, body.length);
    expect(d).toMatchObject({ responseHeader: { serviceResult: { code: 0x80340000, name: 'BadNodeIdUnknown' } } });
  });

  it('GetEndpointsResponse: endpoint, policy, mode, user token policies, server description', () => {
    const w = new W()
      .raw(hex(RESP_HDR_BAD))
      .u32(1) // Endpoints: 1
      .str('opc.tcp://plc:4840')
      .str('urn:plc')
      .str('urn:vendor:product')
      .u8(2)
      .str('PLC') // ApplicationName: text only
      .u32(0) // ApplicationType Server
      .str(null)
      .str(null)
      .u32(0) // no discovery urls
      .bytes_(null) // ServerCertificate
      .u32(1) // SecurityMode None
      .str('http://opcfoundation.org/UA/SecurityPolicy#None')
      .u32(1)
      .str('anon')
      .u32(0)
      .str(null)
      .str(null)
      .str(null) // one Anonymous token policy
      .str('http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary')
      .u8(0);
    const body = w.done();
    const d = decodeServiceBody(encodingId('GetEndpointsResponse'), body, 0, body.length);
    expect(d).toMatchObject({
      endpointCount: 1,
      endpoints: [
        {
          endpointUrl: 'opc.tcp://plc:4840',
          server: { applicationUri: 'urn:plc', productUri: 'urn:vendor:product', applicationName: 'PLC' },
          securityModeName: 'None',
          securityPolicyUri: 'http://opcfoundation.org/UA/SecurityPolicy#None',
          userIdentityTokens: [{ policyId: 'anon', tokenTypeName: 'Anonymous' }],
        },
      ],
    });
    expect(d?.truncated).toBeUndefined();
  });

  it('a body cut short decodes what it can and says truncated; hostile lengths allocate nothing', () => {
    const body = hex(`${REQ_HDR} 00 00 00 00 00 00 00 00 02 00 00 00 ff ff ff 7f`); // NodesToRead: 2^31-1
    const d = decodeServiceBody(encodingId('ReadRequest'), body, 0, body.length);
    expect(d).toMatchObject({ truncated: true, nodesToRead: [] });
  });

  it('Hello, Error and the asymmetric security header', () => {
    const hel = hex(`
      00 00 00 00  00 00 01 00  00 00 01 00  00 00 00 00  00 00 00 00   # version 0, buffers 65536, no limits
      12 00 00 00  6f 70 63 2e 74 63 70 3a 2f 2f 70 6c 63 3a 34 38 34 30 # "opc.tcp://plc:4840"
    `);
    expect(decodeHello(hel, 0, hel.length)).toEqual({
      protocolVersion: 0,
      receiveBufferSize: 65536,
      sendBufferSize: 65536,
      maxMessageSize: 0,
      maxChunkCount: 0,
      endpointUrl: 'opc.tcp://plc:4840',
    });
    const err = hex('00 00 07 80  03 00 00 00 62 61 64'); // 0x80070000 BadEncodingLimitsExceeded, "bad"
    expect(decodeError(err, 0, err.length)).toEqual({
      error: 0x80070000,
      errorName: 'BadDecodingError',
      reason: 'bad',
    });
    const asym = new W()
      .str('http://opcfoundation.org/UA/SecurityPolicy#Basic256')
      .bytes_(hex('30 03 02 01 05'))
      .bytes_(null)
      .done();
    const h = decodeAsymmetricHeader(asym, 0, asym.length);
    expect(h.securityPolicyUri).toBe('http://opcfoundation.org/UA/SecurityPolicy#Basic256');
    expect(h.senderCertificate?.length).toBe(5);
    expect(h.end).toBe(asym.length);
  });
});
