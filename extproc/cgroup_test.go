package extproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func useCgroupRoot(t *testing.T, root string) {
	old := cgroupRoot
	cgroupRoot = root
	t.Cleanup(func() { cgroupRoot = old })
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCgroupV2Layout(t *testing.T) {
	root := t.TempDir()
	useCgroupRoot(t, root)
	writeFile(t, filepath.Join(root, "cgroup.controllers"), "cpuset cpu io memory pids\n")
	writeFile(t, filepath.Join(root, "cgroup.subtree_control"), "memory\n")

	cg, err := newCgroup("vc-worker", "sub-pc1-100-0", "0-11")
	if err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{root: "+cpuset", filepath.Join(root, "vc-worker"): "+cpuset"} {
		if got := readFile(t, filepath.Join(dir, "cgroup.subtree_control")); got != want {
			t.Errorf("%s/cgroup.subtree_control = %q, want %q (cpuset delegated down the path)", dir, got, want)
		}
	}
	leaf := filepath.Join(root, "vc-worker", "sub-pc1-100-0")
	if got := readFile(t, filepath.Join(leaf, "cpuset.cpus")); got != "0-11" {
		t.Errorf("cpuset.cpus = %q, want 0-11", got)
	}
	if err := cg.add(4242); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(leaf, "cgroup.procs")); got != "4242" {
		t.Errorf("cgroup.procs = %q, want the child pid", got)
	}
	cg.remove()
	if _, err := os.Stat(leaf); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup %s still there after remove", leaf)
	}
}

func TestCgroupV2WithoutCpuset(t *testing.T) {
	root := t.TempDir()
	useCgroupRoot(t, root)
	writeFile(t, filepath.Join(root, "cgroup.controllers"), "cpu io memory\n")
	if _, err := newCgroup("vc-worker", "sub", "0"); err == nil || !strings.Contains(err.Error(), "no cpuset controller") {
		t.Fatalf("err = %v, want no cpuset controller", err)
	}
}

func TestCgroupV1Layout(t *testing.T) {
	root := t.TempDir()
	useCgroupRoot(t, root)
	writeFile(t, filepath.Join(root, "cpuset", "cpuset.cpus"), "0-47\n")
	writeFile(t, filepath.Join(root, "cpuset", "cpuset.mems"), "0-1\n")

	cg, err := newCgroup("vc-worker", "sub-c2-7-2", "32-47")
	if err != nil {
		t.Fatal(err)
	}
	group := filepath.Join(root, "cpuset", "vc-worker")
	leaf := filepath.Join(group, "sub-c2-7-2")
	for path, want := range map[string]string{
		filepath.Join(group, "cpuset.cpus"): "0-47",
		filepath.Join(group, "cpuset.mems"): "0-1",
		filepath.Join(leaf, "cpuset.cpus"):  "32-47",
		filepath.Join(leaf, "cpuset.mems"):  "0-1",
	} {
		if got := readFile(t, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	cg.remove()
	if _, err := os.Stat(leaf); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup %s still there after remove", leaf)
	}
}

func TestCgroupUnavailable(t *testing.T) {
	useCgroupRoot(t, t.TempDir())
	if _, err := newCgroup("vc-worker", "sub", "0"); err == nil || !strings.Contains(err.Error(), "neither cgroup v2") {
		t.Fatalf("err = %v, want a clear unavailability error", err)
	}
	if _, err := newCgroup("../escape", "sub", "0"); err == nil || !strings.Contains(err.Error(), "climbs out") {
		t.Fatalf("err = %v, want group_name with .. refused", err)
	}
	// A child asking for a cpuset still runs where cgroups cannot be used.
	e := entry("serve")
	e.CGroup.CPUSet = "0"
	p := newTestProducer(t, nil, e)
	if p.children[0].cg != nil {
		t.Fatal("child has a cgroup on a host without cgroups")
	}
	mustCall(t, p, testTask{Op: "echo"})
}

// TestChildJoinsHostCgroup runs where the host's cgroup hierarchy is writable (root, cpuset
// controller available); elsewhere it skips.
func TestChildJoinsHostCgroup(t *testing.T) {
	group := fmt.Sprintf("vc-worker-test-%d", os.Getpid())
	e := entry("serve")
	e.CGroup = CGroup{GroupName: group, CPUSet: "0"}
	p, err := NewProducer[testTask, testOut](context.Background(), testStage, []Spec{e}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := p.children[0]
	if c.cg == nil {
		t.Skip("no writable cgroup cpuset hierarchy on this host")
	}
	t.Cleanup(func() { removeGroup(group) })
	if want := filepath.Join(group, cgroupName(testStage, 0)); !strings.HasSuffix(c.cg.dir, want) {
		t.Fatalf("cgroup dir %s, want it to end with %s", c.cg.dir, want)
	}
	pid := mustCall(t, p, testTask{Op: "echo"}).PID
	if !inCgroup(t, c.cg.dir, pid) {
		t.Fatalf("child %d not in %s", pid, c.cg.dir)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = call(t, p, testTask{Op: "echo"}) // may fail if it races the kill; the next one waits for the restart
	again := mustCall(t, p, testTask{Op: "echo"}).PID
	if again == pid || !inCgroup(t, c.cg.dir, again) {
		t.Fatalf("restarted child %d not in %s", again, c.cg.dir)
	}
	dir := c.cg.dir
	p.Close()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cgroup %s still there after Close", dir)
	}
}

func inCgroup(t *testing.T, dir string, pid int) bool {
	for _, line := range strings.Fields(readFile(t, filepath.Join(dir, "cgroup.procs"))) {
		if line == strconv.Itoa(pid) {
			return true
		}
	}
	return false
}

func removeGroup(group string) {
	for _, dir := range []string{filepath.Join(cgroupRoot, group), filepath.Join(cgroupRoot, "cpuset", group)} {
		_ = os.Remove(dir)
	}
}
