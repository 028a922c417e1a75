// Package version says which build is running; both binaries print it with --version.
package version

// Set at build time with -ldflags "-X .../version.Commit=<git describe>".
var (
	Version = "0.1.0"
	Commit  = "dev"
)

// String is "<version>+<commit> (proofs: <backend>)".
func String() string {
	return Version + "+" + Commit + " (proofs: " + ProofsBackend + ")"
}
