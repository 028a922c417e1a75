package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/proof"

	"github.com/ipfs-force-community/venus-cluster-go/api/mockproof"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/chain"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/gateway"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/gateway/fakegateway"
)

// TestDaemonAnswersWinningPoSt: `daemon run --miner` listens to a venus-gateway (a fake one, with
// its own token in the <token>:<multiaddr> form), and once a worker sealed a sector, answers the
// gateway's ComputeProof for it with the sector's WinningPoSt. Restarted, its warm-up proves that
// sector and logs how long it took.
func TestDaemonAnswersWinningPoSt(t *testing.T) {
	t.Parallel()
	gw, err := fakegateway.Start("", "gateway-secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	host, port, _ := net.SplitHostPort(gw.Addr)
	c := startDaemonClusterWith(t, 1, nil, []string{"--miner"},
		cfgEdit{"[Common.API]", "Gateway", fmt.Sprintf(`["gateway-secret:/ip4/%s/tcp/%s"]`, host, port)},
		cfgEdit{"[Miners.Proof]", "Enabled", "true"})
	maddr, _ := address.NewIDAddress(uint64(daemonActor))
	waitGatewayListener(t, gw, maddr)
	if !regexp.MustCompile(`winning post warm-up skipped: the miner has no active sector on chain yet.*"miner": "10000"`).MatchString(c.daemon.logText()) {
		t.Errorf("no warm-up line for a miner without sectors:\n%s", tail(c.daemon.logText(), 3000))
	}

	startWorker(t, c.w)
	num := c.waitFinished(t, 1, 120*time.Second)[0]
	info := onChainSector(t, c, num)
	sectors := []proof.ExtendedSectorInfo{{SealProof: info.SealProof, SectorNumber: num, SealedCID: info.SealedCID}}
	rand := bytes.Repeat([]byte{7}, 32)
	proofs := computeProof(t, gw, maddr, gateway.ComputeProofRequest{SectorInfos: sectors, Rand: rand, Height: 4000, NWVersion: 21})
	postProof, _ := info.SealProof.RegisteredWinningPoStProof()
	want := mockproof.WinningPoSt(postProof, daemonActor, rand, []proof.SectorInfo{{SealProof: info.SealProof, SectorNumber: num, SealedCID: info.SealedCID}})
	if len(proofs) != 1 || proofs[0].PoStProof != postProof || !bytes.Equal(proofs[0].ProofBytes, want) {
		t.Fatalf("proofs = %+v, want one %d proof %x", proofs, postProof, want)
	}
	answered := regexp.MustCompile(`winning post answered.*"miner": "10000".*"height": "4000", "sectors": 1`)
	waitFor(t, "the answer line in the daemon log", 10*time.Second, func() bool { return answered.MatchString(c.daemon.logText()) })

	// SIGTERM stops the listener with the daemon; the next start warms up on the sealed sector.
	c.daemon.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.daemon.exitCode(t, 30*time.Second); code != 0 {
		t.Fatalf("daemon run exited %d after SIGTERM", code)
	}
	c.daemon = startDaemon(t, c.home, "--miner")
	warm := regexp.MustCompile(`winning post warm-up done.*"miner": "10000", "sector": "` + strconv.Itoa(int(num)) + `", "prover": "mock", "took": `)
	if !warm.MatchString(c.daemon.logText()) {
		t.Errorf("no warm-up line for sector %d:\n%s", num, tail(c.daemon.logText(), 3000))
	}
	waitGatewayListener(t, gw, maddr)
	if proofs := computeProof(t, gw, maddr, gateway.ComputeProofRequest{SectorInfos: sectors, Rand: rand}); !bytes.Equal(proofs[0].ProofBytes, want) {
		t.Errorf("after the restart: %+v", proofs)
	}

	// With --ext-prover and a [[WinPost]] entry, the proof is made by `venus-worker processor
	// winning_post`, spawned from beside the manager's binary, and is the same proof.
	c.daemon.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.daemon.exitCode(t, 30*time.Second); code != 0 {
		t.Fatalf("daemon run exited %d after SIGTERM", code)
	}
	mustWrite(t, filepath.Join(c.home.home, "ext-prover.cfg"), "[[WinPost]]\nReadyTimeoutSecs = 10\n")
	c.daemon = startDaemon(t, c.home, "--miner", "--ext-prover")
	if log := c.daemon.logText(); !strings.Contains(log, `ext provers started`) || !strings.Contains(log, `"prover": "window=mock,winning=ext", "took": `) {
		t.Errorf("no ext prover start or warm-up through it:\n%s", tail(log, 3000))
	}
	waitGatewayListener(t, gw, maddr)
	if proofs := computeProof(t, gw, maddr, gateway.ComputeProofRequest{SectorInfos: sectors, Rand: rand}); !bytes.Equal(proofs[0].ProofBytes, want) {
		t.Errorf("through the ext prover: %+v", proofs)
	}
}

func waitGatewayListener(t *testing.T, gw *fakegateway.Gateway, maddr address.Address) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := gw.WaitListener(ctx, maddr); err != nil {
		t.Fatal(err)
	}
}

func computeProof(t *testing.T, gw *fakegateway.Gateway, maddr address.Address, req gateway.ComputeProofRequest) []proof.PoStProof {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	proofs, err := gw.ComputeProof(ctx, maddr, req)
	if err != nil {
		t.Fatal(err)
	}
	return proofs
}

// onChainSector is the sector's info on the simulated chain, once its proof landed.
func onChainSector(t *testing.T, c *daemonCluster, num abi.SectorNumber) *chain.SectorOnChainInfo {
	t.Helper()
	maddr, _ := address.NewIDAddress(uint64(daemonActor))
	var info *chain.SectorOnChainInfo
	waitFor(t, fmt.Sprintf("sector %d on chain", num), 30*time.Second, func() bool {
		var err error
		info, err = c.node.StateSectorGetInfo(context.Background(), maddr, num, chain.EmptyTSK)
		return err == nil && info != nil
	})
	return info
}
