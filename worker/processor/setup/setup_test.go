package setup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs-force-community/venus-cluster-go/extproc"
	"github.com/ipfs-force-community/venus-cluster-go/worker/config"
	"github.com/ipfs-force-community/venus-cluster-go/worker/limit"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor/builtin"
)

// childEnv makes the test binary serve the named stage with its built-in processor, recording
// its pid in the directory named by pidDirEnv.
const (
	childEnv  = "SETUP_TEST_CHILD_STAGE"
	pidDirEnv = "SETUP_TEST_PID_DIR"
)

func TestMain(m *testing.M) {
	if stage := os.Getenv(childEnv); stage != "" {
		os.Exit(runChild(stage))
	}
	os.Exit(m.Run())
}

func runChild(stage string) int {
	if dir := os.Getenv(pidDirEnv); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o644)
	}
	set := builtin.New()
	var err error
	switch stage {
	case processor.StageTransfer:
		err = extproc.Serve(stage, set.Transfer, os.Stdin, os.Stdout)
	case processor.StageTreeD:
		err = extproc.Serve(stage, set.TreeD, os.Stdin, os.Stdout)
	default:
		return 2
	}
	if err != nil {
		return 1
	}
	return 0
}

func childEntry(t *testing.T, stage, pidDir string) config.ExtProcessor {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return config.ExtProcessor{
		Stage:      stage,
		Bin:        exe,
		Args:       []string{"processor", stage},
		StableWait: 20 * time.Second,
		Envs:       map[string]string{childEnv: stage, pidDirEnv: pidDir},
		Weight:     1,
	}
}

func TestBuildAllBuiltin(t *testing.T) {
	set, closer, err := Build(context.Background(), config.Processors{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if _, isExt := set.Transfer.(*extproc.Producer[processor.TransferInput, bool]); isExt {
		t.Fatal("transfer is external without a [[processors.transfer]] table")
	}
	if set.TreeD == nil || set.PC1 == nil || set.PC2 == nil || set.C1 == nil || set.C2 == nil ||
		set.SnapEncode == nil || set.SnapVanilla == nil || set.SnapProve == nil || set.SnapVerify == nil {
		t.Fatalf("a stage has no processor: %+v", set)
	}
}

func TestBuildExternalStage(t *testing.T) {
	pids := t.TempDir()
	cfg := config.Processors{Ext: map[string][]config.ExtProcessor{
		processor.StageTransfer: {childEntry(t, processor.StageTransfer, pids)},
	}}
	set, closer, err := Build(context.Background(), cfg, limit.NewLocks(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, isExt := set.Transfer.(*extproc.Producer[processor.TransferInput, bool]); !isExt {
		t.Fatalf("transfer is %T, want the external producer", set.Transfer)
	}
	if _, isExt := set.PC1.(*extproc.Producer[processor.PC1Input, processor.PC1Output]); isExt {
		t.Fatal("pc1 is external without a table")
	}
	ok, err := set.Transfer.Process(context.Background(), processor.TransferInput{Stores: map[string]processor.TransferStoreInfo{}})
	if err != nil || !ok {
		t.Fatalf("external transfer = %v, %v", ok, err)
	}
	pid := onlyPid(t, pids)
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("child %d alive after Close (kill -0: %v)", pid, err)
	}
}

func TestBuildFailureKillsStartedChildren(t *testing.T) {
	pids := t.TempDir()
	broken := childEntry(t, processor.StagePC2, pids)
	broken.Bin = filepath.Join(t.TempDir(), "missing-plugin")
	cfg := config.Processors{Ext: map[string][]config.ExtProcessor{
		processor.StageTreeD: {childEntry(t, processor.StageTreeD, pids)}, // started before pc2
		processor.StagePC2:   {broken},
	}}
	_, _, err := Build(context.Background(), cfg, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "processors.pc2[0]") || !strings.Contains(err.Error(), "missing-plugin") {
		t.Fatalf("err = %v, want it to name processors.pc2[0] and the missing program", err)
	}
	pid := onlyPid(t, pids)
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("tree_d child %d left running after start-up failed (kill -0: %v)", pid, err)
	}
}

func TestBuildRefusesInProcessStages(t *testing.T) {
	cfg := config.Processors{Ext: map[string][]config.ExtProcessor{"c1": {{}}}}
	if _, _, err := Build(context.Background(), cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "processors.c1: this stage cannot run as an external processor") {
		t.Fatalf("err = %v, want c1 refused", err)
	}
}

func onlyPid(t *testing.T, dir string) int {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("pid dir holds %d files (%v), want 1", len(files), err)
	}
	pid, err := strconv.Atoi(files[0].Name())
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
