"""JD Cloud's documented defaults that both the emulator and the client must follow (jdcloud-api.md section 5)."""

#: The recommended IKE/IPsec set of a new VPN tunnel (the SDK's VpnTunnelSpec defaults).
RECOMMENDED_TUNNEL = {
    "ikeVersion": "v2",
    "ikeMode": "main",
    "ikeKeyExchange": "ecp256",
    "ikeCipher": "aes128",
    "ikeAuth": "sha256",
    "ikeDpdSec": 10,
    "ikeSaLifeSec": 14400,
    "ipsecCipher": "aes128",
    "ipsecAuth": "sha256",
    "ipsecKeyExchange": None,
    "ipsecSaLifeSec": 3600,
}
