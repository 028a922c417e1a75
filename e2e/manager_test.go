package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// managerHomes maps the address of a manager process started with --home to its home: such a
// manager requires tokens, and util finds the admin token in the home (--home <home> util ...).
var managerHomes sync.Map

// managerProc is a running `venus-sector-manager mock` process.
type managerProc struct {
	cmd    *exec.Cmd
	addr   string
	log    string // the file of its stdout and stderr
	exited chan struct{}
}

func startManagerProc(t *testing.T, addr string, args ...string) *managerProc {
	t.Helper()
	var flags []string
	for i, a := range args {
		if a == "--home" && i+1 < len(args) {
			managerHomes.Store(addr, args[i+1])
			// The workers of these tests have no token.
			flags = append(flags, "--allow-workers-without-token")
		}
	}
	return startMock(t, addr, args, flags)
}

// startMock runs `venus-sector-manager <global> mock ... <flags>` on addr and waits until it
// answers; a manager that exits at start fails the test with its log.
func startMock(t *testing.T, addr string, global, flags []string) *managerProc {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "manager-*.log")
	if err != nil {
		t.Fatal(err)
	}
	all := append(append(append([]string{}, global...), "mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", addr), flags...)
	cmd := exec.Command(bin("venus-sector-manager"), all...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &managerProc{cmd: cmd, addr: addr, log: logf.Name(), exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("manager log:\n%s", tail(string(b), 4000))
		}
	})
	waitFor(t, "manager listening", 30*time.Second, func() bool {
		select {
		case <-p.exited:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("manager exited at start:\n%s", b)
		default:
		}
		return util(t, addr, "worker", "list").code == 0
	})
	return p
}

func (p *managerProc) signal(s syscall.Signal) {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Signal(s)
		<-p.exited
	}
}

func util(t *testing.T, addr string, args ...string) result {
	t.Helper()
	all := append([]string{"util", "--listen", addr}, args...)
	if home, ok := managerHomes.Load(addr); ok {
		all = append([]string{"--home", home.(string)}, all...)
	}
	return run(t, bin("venus-sector-manager"), all...)
}

// TestSeedWalkthrough follows the user's document (seed/10.venus-worker-task-management): the
// manager lists the worker, shows its threads, pauses and resumes one, and forgets the worker.
func TestSeedWalkthrough(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startManagerProc(t, addr)
	w := newWorkerSetup(t, addr, 3)
	wp := startWorker(t, w)

	var out result
	waitFor(t, "the worker in util worker list", 20*time.Second, func() bool {
		out = util(t, addr, "worker", "list")
		return strings.Contains(out.stdout, "e2e-worker")
	})
	lines := strings.Split(strings.TrimRight(out.stdout, "\n"), "\n")
	if lines[0] != "Name        Dest             Threads  Empty  Paused  Errors  LastPing(with ! if expired)" {
		t.Errorf("header = %q", lines[0])
	}
	row := regexp.MustCompile(`^e2e-worker  ` + regexp.QuoteMeta(w.adminAddr) + `\s+3\s+\d\s+0\s+0\s+[0-9.µmsh]+$`)
	if len(lines) != 2 || !row.MatchString(lines[1]) {
		t.Errorf("list:\n%s", out.stdout)
	}

	info := util(t, addr, "worker", "info", "e2e-worker")
	ilines := strings.Split(strings.TrimRight(info.stdout, "\n"), "\n")
	if info.code != 0 || len(ilines) != 4 || !regexp.MustCompile(`^Index\s+Loc\s+SectorID\s+Paused\s+PausedElapsed\s+State\s+LastErr$`).MatchString(ilines[0]) {
		t.Fatalf("info (exit %d):\n%s\n%s", info.code, info.stdout, info.stderr)
	}
	if !regexp.MustCompile(`^0\s+\S+store1\s+(s-t010000-\d+|NULL)\s+false\s+NULL\s+\w+\s+NULL$`).MatchString(ilines[1]) {
		t.Errorf("info row 0 = %q", ilines[1])
	}

	if r := util(t, addr, "worker", "pause", "e2e-worker", "0"); r.code != 0 || !strings.Contains(r.stderr, "pause call done, ok = true") {
		t.Fatalf("pause: %d %s", r.code, r.stderr)
	}
	waitFor(t, "thread 0 paused in info", 20*time.Second, func() bool {
		rows := strings.Split(util(t, addr, "worker", "info", "e2e-worker").stdout, "\n")
		return len(rows) > 1 && regexp.MustCompile(`^0\s+\S+\s+\S+\s+true\s+\d+s\s`).MatchString(rows[1])
	})
	if r := util(t, addr, "worker", "resume", "e2e-worker", "0", "Foo"); r.code == 0 || !strings.Contains(r.stderr, "invalid state Foo") {
		t.Errorf("resume Foo: %d %s", r.code, r.stderr)
	}
	if r := util(t, addr, "worker", "resume", "e2e-worker", "0"); r.code != 0 || !strings.Contains(r.stderr, "resume call done, ok = true") {
		t.Fatalf("resume: %d %s", r.code, r.stderr)
	}
	waitFor(t, "thread 0 running again", 20*time.Second, func() bool {
		rows := strings.Split(util(t, addr, "worker", "info", "e2e-worker").stdout, "\n")
		return len(rows) > 1 && regexp.MustCompile(`^0\s+\S+\s+\S+\s+false\s`).MatchString(rows[1])
	})

	// A worker that stops pinging is marked after --expiration.
	wp.kill()
	time.Sleep(1500 * time.Millisecond)
	if r := util(t, addr, "worker", "list", "--expiration", "1s"); !strings.HasSuffix(strings.TrimSpace(r.stdout), " (!)") {
		t.Errorf("expired worker not marked:\n%s", r.stdout)
	}
	if r := util(t, addr, "worker", "info", "e2e-worker"); r.code == 0 || !strings.Contains(r.stderr, w.adminAddr) {
		t.Errorf("info of a stopped worker: %d %s", r.code, r.stderr)
	}
	if r := util(t, addr, "worker", "remove", "e2e-worker"); r.code != 0 {
		t.Errorf("remove: %d %s", r.code, r.stderr)
	}
	if r := util(t, addr, "worker", "list"); strings.Contains(r.stdout, "e2e-worker") {
		t.Errorf("removed worker still listed:\n%s", r.stdout)
	}
}

var finishedSector = regexp.MustCompile(`(?m)^(s-t010000-(\d+)):\n\tWorker: e2e-worker @ \S+\n\tState: ProofSubmitted => Finished @Finish\n\tFinalized: true, Removed: false$`)

// TestManagerKilledMidRunLosesNothing: a manager with --home is killed with SIGKILL while a worker
// seals; restarted, it still knows every sector, the worker carries on, and no number is reused.
func TestManagerKilledMidRunLosesNothing(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	home := filepath.Join(t.TempDir(), "home")
	m := startManagerProc(t, addr, "--home", home)
	w := newWorkerSetup(t, addr, 3)
	startWorker(t, w)

	for round := 0; round < 3; round++ {
		waitFor(t, "some sectors finished", 30*time.Second, func() bool {
			return len(finishedSector.FindAllString(util(t, addr, "sealer", "sectors", "list", "--offline").stdout, -1)) > 3*(round+1)
		})
		m.signal(syscall.SIGKILL)
		time.Sleep(300 * time.Millisecond) // the worker's calls fail meanwhile, as temporary errors
		m = startManagerProc(t, addr, "--home", home)
	}
	var before int
	waitFor(t, "sealing goes on after the restarts", 30*time.Second, func() bool {
		before = len(finishedSector.FindAllString(util(t, addr, "sealer", "sectors", "list", "--offline").stdout, -1))
		return before > 12
	})
	offline := util(t, addr, "sealer", "sectors", "list", "--offline").stdout
	seen := map[string]bool{}
	for _, m := range finishedSector.FindAllStringSubmatch(offline, -1) {
		if seen[m[2]] {
			t.Errorf("sector %s finished twice", m[2])
		}
		seen[m[2]] = true
		if _, err := os.Stat(filepath.Join(w.persist, "sealed", m[1])); err != nil {
			t.Errorf("sector %s: %v", m[1], err)
		}
	}
	if strings.Contains(offline, "Aborting") || regexp.MustCompile(`State: \w+ => Aborted`).MatchString(offline) {
		t.Errorf("a sector was aborted:\n%s", offline)
	}
	// Nothing is stuck: every paused thread would show here.
	for i, l := range strings.Split(strings.TrimSpace(w.cli(t, "list").stdout), "\n") {
		if strings.Contains(l, "paused=true") {
			t.Errorf("thread %d paused: %s", i, l)
		}
	}
}
