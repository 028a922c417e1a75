package command

import (
	"bytes"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/version"
)

func TestVersionFlag(t *testing.T) {
	app := App()
	var out bytes.Buffer
	app.Writer = &out
	if err := app.Run([]string{"venus-worker", "--version"}); err != nil {
		t.Fatal(err)
	}
	want := "venus-worker version " + version.String() + "\n"
	if out.String() != want {
		t.Errorf("--version printed %q, want %q", out.String(), want)
	}
	if !bytes.Contains(out.Bytes(), []byte("(proofs: "+version.ProofsBackend+")")) {
		t.Errorf("--version does not name the proofs backend: %q", out.String())
	}
}
