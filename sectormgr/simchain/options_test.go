package simchain

import (
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
)

func TestChallengeDelayOptions(t *testing.T) {
	for _, c := range []struct {
		opt, want int64
	}{{0, 150}, {int64(NoChallengeDelay), 0}, {7, 7}} {
		ch, err := Open(Options{PreCommitChallengeDelay: abi.ChainEpoch(c.opt)})
		if err != nil {
			t.Fatalf("Open(delay %d): %v", c.opt, err)
		}
		if got := int64(ch.Options().PreCommitChallengeDelay); got != c.want {
			t.Errorf("delay option %d gives %d, want %d", c.opt, got, c.want)
		}
		ch.Close()
	}
	_, err := Open(Options{PreCommitChallengeDelay: -2})
	if err == nil || err.Error() != "simchain: pre-commit challenge delay -2 is negative; use 0 for the default (150) or NoChallengeDelay for none" {
		t.Fatalf("Open(delay -2) err = %v", err)
	}
}
