package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExternalProcessors runs every stage that can move out of process as a `venus-worker
// processor <stage>` child. The first pc2 child hangs on its task and is killed: the task fails with
// a clear permanent error, the child comes back, and a resume finishes the sector.
func TestExternalProcessors(t *testing.T) {
	mgr, addr := startManager(t)
	w := newWorkerSetup(t, addr, 1)
	marker := filepath.Join(w.dir, "pc2-first-run")
	received := filepath.Join(w.dir, "pc2-first-request")
	script := filepath.Join(w.dir, "pc2.sh")
	os.WriteFile(script, []byte(fmt.Sprintf(`#!/usr/bin/env bash
# The first pc2 child announces itself, takes its request and never answers; later ones are the
# real consumer.
if [ ! -e %[1]q ]; then
  echo $$ > %[1]q
  echo "pc2 processor ready"
  read -r request
  echo "$request" > %[3]q.tmp && mv %[3]q.tmp %[3]q
  exec sleep 600
fi
exec %[2]q processor pc2
`, marker, bin("venus-worker"), received)), 0o755)

	cfg, _ := os.ReadFile(w.cfg)
	ext := fmt.Sprintf(`
[[processors.tree_d]]
[[processors.pc1]]
[[processors.pc2]]
bin = %q
stable_wait = "10s"
[[processors.c2]]
[[processors.transfer]]
`, script)
	os.WriteFile(w.cfg, append(cfg, []byte(ext)...), 0o644)

	startWorker(t, w)
	c := adminClient(t, w)
	waitFor(t, "the pc2 request in the hanging child", 30*time.Second, func() bool {
		_, err := os.Stat(received)
		return err == nil
	})
	if th := threads(t, c)[0]; th.State != "PC1Done" {
		t.Fatalf("thread in %s while its pc2 runs, want PC1Done", th.State)
	}
	b, _ := os.ReadFile(marker)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("child pid: %q", b)
	}
	syscall.Kill(pid, syscall.SIGKILL)

	waitFor(t, "thread paused on the child's death", 30*time.Second, func() bool {
		th := threads(t, c)[0]
		return th.Paused && th.LastError != nil
	})
	th := threads(t, c)[0]
	if !strings.HasPrefix(*th.LastError, "permanent: pc2: child process exited: pc2 (pid "+strconv.Itoa(pid)+")") {
		t.Fatalf("last_error = %q", *th.LastError)
	}
	if r := w.cli(t, "resume", "--index", "0"); r.code != 0 {
		t.Fatalf("resume: %s", r.stderr)
	}
	waitFor(t, "the sector finalized through the restarted child", 60*time.Second, func() bool { return len(mgr.finalized()) >= 1 })
	if s := mgr.finalized()[0]; s.ID.Number != 1 {
		t.Errorf("first finalized sector = %v", s.ID)
	}
}
