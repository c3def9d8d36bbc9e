// A 1024-bit self-signed certificate valid for 30 days in Nov/Dec 2026 (made once with openssl). generate.mjs puts it
// in packets dated 2030, so it is expired there, and 1024 bits is a weak key; unit tests use it as a real DER
// certificate.
export const EXPIRED_CERT = Buffer.from(
  'MIICBDCCAW2gAwIBAgICEjQwDQYJKoZIhvcNAQELBQAwHTEbMBkGA1UEAwwSZXhwaXJlZC1wbGMtc2VydmVyMB4XDTI2MTEyNDAyMzQwMFoXDTI2MTIyNDAyMzQwMFowHTEbMBkGA1UEAwwSZXhwaXJlZC1wbGMtc2VydmVyMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDpG11FdewS0t6N1AiKr8j3FlZtDXVOvoI4lEatGf5UiZ4cG/vr+j5eemEPCPLgPYm4AlnKeUVOk+prwRtXlAuX29ABdwz0u8gm6YUOTLImqAtrte/Xbu4XHTlFbJi3NFw2NNo7m0tM5j4t1fUnXiNxdmrzoBFBjcQMgn0A1ZS1rQIDAQABo1MwUTAdBgNVHQ4EFgQUVK2pQIsh3hSKSJ+w4LZ+I5snUl0wHwYDVR0jBBgwFoAUVK2pQIsh3hSKSJ+w4LZ+I5snUl0wDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOBgQAMCHy71578i9MSa8hkGP/56OpIzvVkPYBKf1PM0zAjXTraG/Tu2mdwa+fzUkDIOSlf6NigsJVOFLhaILeZabiI/JUtyUq0xZoxUdDFnQY2E8pqSiBbbO4gyqTC3GAEdLs0CnC9zHw1jJmzH27VDmzvhjw9HhJvNZfsC1ZwLfkZ7g==',
  'base64',
);
