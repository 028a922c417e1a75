//go:build ffi

package version

// ProofsBackend names how PC1/PC2/C1/C2 are computed in this build.
const ProofsBackend = "ffi"
