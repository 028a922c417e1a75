package api

import "net"

// IsLoopbackHost reports whether host (no port) names only this machine: "localhost" or a
// loopback IP (127.0.0.0/8, ::1). A daemon without auth may listen only there.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
