package command

import (
	"bufio"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestProcessorSubcommands(t *testing.T) {
	var names []string
	for _, c := range ProcessorCmd.Subcommands {
		names = append(names, c.Name)
	}
	want := []string{"tree_d", "pc1", "pc2", "c2", "snap_encode", "snap_prove", "transfer", "window_post", "winning_post"}
	if !slices.Equal(names, want) {
		t.Fatalf("processor subcommands %v, want %v", names, want)
	}
	for _, stage := range want {
		if _, ok := stageConsumer(stage); !ok {
			t.Errorf("no consumer for %s", stage)
		}
	}
	if _, ok := stageConsumer("c1"); ok {
		t.Error("c1 has a consumer; C1 must stay in the worker")
	}
}

// TestProcessorConsumerServesBuiltin drives the transfer consumer over pipes: ready line, one
// real transfer, an error answer, and the exit when the parent goes.
func TestProcessorConsumerServesBuiltin(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		serve, ok := stageConsumer("transfer")
		if !ok {
			t.Error("no transfer consumer")
		}
		done <- serve(inR, outW)
		outW.Close()
	}()
	out := bufio.NewReader(outR)
	readLine := func() string {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return strings.TrimSuffix(line, "\n")
	}
	if got := readLine(); got != "transfer processor ready" {
		t.Fatalf("ready line %q", got)
	}
	io.WriteString(inW, `{"id":0,"task":{"stores":{},"routes":[]}}`+"\n")
	if got, want := readLine(), `{"id":0,"err_msg":null,"output":true}`; got != want {
		t.Fatalf("empty transfer: got %s, want %s", got, want)
	}
	io.WriteString(inW, `{"id":1,"task":{"stores":{},"routes":[{"src":{"store_name":null,"uri":"`+src+`"},"dest":{"store_name":null,"uri":"`+src+`.copy"},"opt":null}]}}`+"\n")
	if got := readLine(); !strings.HasPrefix(got, `{"id":1,"err_msg":"`) || !strings.Contains(got, src) {
		t.Fatalf("transfer of a missing file: got %s, want an err_msg naming it", got)
	}
	inW.Close()
	select {
	case err := <-done:
		if err == nil || err.Error() != "got empty line, parent might be out" {
			t.Fatalf("consumer returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("consumer did not exit when stdin closed")
	}
}
