package config

import "strings"

// ParseAPIInfo splits an endpoint setting into its token and address. It accepts the Lotus
// FULLNODE_API_INFO form "<token>:<multiaddr-or-url>" and a bare multiaddr ("/ip4/...") or
// URL ("http://host:1234/rpc/v1"); a bare "host:port" is an address too. The token (a JWT)
// never holds ':', so the first ':' splits, unless it is the ':' of a URL scheme.
func ParseAPIInfo(s string) (token, addr string) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "/") {
		return "", s
	}
	head, rest, found := strings.Cut(s, ":")
	if !found {
		return "", s
	}
	if strings.HasPrefix(rest, "//") && isURLScheme(head) {
		return "", s
	}
	if strings.HasPrefix(rest, "/") || strings.Contains(rest, "://") {
		return head, rest
	}
	return "", s
}

// isURLScheme follows RFC 3986: a letter, then letters, digits, '+', '-' or '.'.
func isURLScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if i == 0 && !letter {
			return false
		}
		if !letter && !(r >= '0' && r <= '9') && r != '+' && r != '-' && r != '.' {
			return false
		}
	}
	return true
}
