/** The DER bytes of the certificate in opcua-expired-cert.pcap (expired-cert.mjs). */
export declare const EXPIRED_CERT: Buffer;
