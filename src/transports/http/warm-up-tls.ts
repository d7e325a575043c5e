/*
 * A throwaway certificate and key for the HTTPS warm-up (HttpTransport.warmUp): an in-process server
 * on 127.0.0.1 presents it and the warm-up's own connector trusts it, and nothing else does (the
 * call's connector never sees it). It is public on purpose: it guards nothing. P-256, CN=localhost,
 * subjectAltName DNS:localhost and IP:127.0.0.1, valid 2000-2100.
 */
export const WARM_UP_CERT = `-----BEGIN CERTIFICATE-----
MIIBZDCCAQqgAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEf0T5Yr+T6HZRjK
7bvLSnV5A3xWQe7czelZkJuGmeeOZqplZIr/MRpn4q/9U+WXty5aSrPgQH4vttgA
NByA+d2jSzBJMBoGA1UdEQQTMBGCCWxvY2FsaG9zdIcEfwAAATAMBgNVHRMBAf8E
AjAAMB0GA1UdDgQWBBR/pJDdVCHqPzCTIUqGVajGhCXYyzAKBggqhkjOPQQDAgNI
ADBFAiEAl3RzhNkN858HyntIkDXCeeE10EX92VK1rxyBUwKoHIgCICi0M5fCdnjT
5u/V62jdNkxHfE2Yq4qtYcnUvztfyqg1
-----END CERTIFICATE-----
`;

export const WARM_UP_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQggWeE9Wd05TB50oeq
pvKvrQN2i9UhblttJ9H43iR9SpChRANCAARH9E+WK/k+h2UYyu27y0p1eQN8VkHu
3M3pWZCbhpnnjmaqZWSK/zEaZ+Kv/VPll7cuWkqz4EB+L7bYADQcgPnd
-----END PRIVATE KEY-----
`;
